"""Chapter 5: model-parameter randomization of every explanation method (cascading and independent), its
tables, figures and verdicts. Also the computation behind ``xaireport sanity``.

Every explanation goes through the result cache (:mod:`xaireport.results`): a randomized classifier has its
own ``weights_id``, so its maps are cached apart from the trained model's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xaireport.core import progress
from xaireport.core.cache import ResultCache
from xaireport.images import LoadedImage
from xaireport.methods.cams import LABELS as CAM_LABELS
from xaireport.methods.cams import METHODS as CAM_METHODS
from xaireport.methods.sanity import Block, blocks, initializer, jaccard, randomize, similarities, top_superpixels
from xaireport.models import Classifier
from xaireport.models.description import real
from xaireport.report.figures import cached_figure, image_grid, save_figure
from xaireport.results import cached_cam, cached_lime, cached_sanity

#: The methods this chapter can check: the registered CAMs and LIME.
LABELS = {**CAM_LABELS, "lime": "LIME"}
MEASURES = {"spearman": "Spearman ρ", "spearman_abs": "Spearman ρ of |map|", "ssim": "SSIM"}
COLUMNS = ["method", "image", "step", "randomized", "spearman", "spearman_abs", "ssim", "jaccard"]


@dataclass
class Explanation:
    """One method's map of one image (LIME: each pixel its superpixel's signed weight, and the top-k set)."""

    map: np.ndarray
    top: set[int] | None = None


@dataclass
class SanityRun:
    """The trained model's explanations and every randomized model's, compared."""

    order: list[Block]
    methods: list[str]
    cascade: pd.DataFrame
    independent: pd.DataFrame
    first_maps: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # (method, step) → map, 1st image
    first_crop: np.ndarray | None = None
    initializer: str = ""  # how the blocks were re-initialised (:func:`xaireport.methods.sanity.initializer`)

    def record(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, meta) for the result cache; :meth:`from_record` inverts it."""
        arrays = {f"map/{m}/{step}": a for (m, step), a in self.first_maps.items()}
        if self.first_crop is not None:
            arrays["first_crop"] = self.first_crop
        meta: dict[str, Any] = {
            "order": [[b.name, list(b.modules)] for b in self.order],
            "methods": self.methods,
            "initializer": self.initializer,
        }
        for mode in ("cascade", "independent"):
            t: pd.DataFrame = getattr(self, mode)
            meta[mode] = {c: t[c].tolist() for c in ("method", "image", "randomized")}
            for c in COLUMNS:
                if c not in meta[mode]:
                    arrays[f"{mode}/{c}"] = t[c].to_numpy()
        return arrays, meta

    @classmethod
    def from_record(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> SanityRun:
        tables = {
            mode: pd.DataFrame({c: meta[mode][c] if c in meta[mode] else arrays[f"{mode}/{c}"] for c in COLUMNS})
            for mode in ("cascade", "independent")
        }
        maps = {}
        for k, a in arrays.items():
            if k.startswith("map/"):
                _, m, step = k.split("/")
                maps[m, int(step)] = a
        return cls(
            [Block(n, tuple(mods)) for n, mods in meta["order"]],
            list(meta["methods"]),
            tables["cascade"],
            tables["independent"],
            maps,
            arrays.get("first_crop"),
            meta["initializer"],
        )


def explain_one(
    cache: ResultCache, clf: Classifier, image: LoadedImage, method: str, target: int, settings: Any
) -> Explanation:
    """One cached explanation of ``target`` (the trained model's top-1 class) by ``clf``."""
    if method == "lime":
        r = cached_lime(
            cache,
            clf,
            image,
            settings["sanity.lime_num_samples"],
            settings["lime.num_features"],
            settings["seed"],
            target,
            batch_size=settings["lime.batch_size"],
        )
        return Explanation(
            r.weights[r.segments].astype(np.float32), top_superpixels(r.weights, settings["lime.num_features"])
        )
    setting = CAM_METHODS[method].batch_setting
    return Explanation(cached_cam(cache, clf, image, method, target, settings[setting] if setting else None).map)


def compare(
    method: str, image: str, step: int, randomized: str, trained: Explanation, other: Explanation
) -> dict[str, Any]:
    row = {
        "method": method,
        "image": image,
        "step": step,
        "randomized": randomized,
        **similarities(trained.map, other.map),
        "jaccard": float("nan"),
    }
    if trained.top is not None and other.top is not None:
        row["jaccard"] = jaccard(trained.top, other.top)
    return row


def run_checks(
    clf: Classifier, images: list[LoadedImage], methods: list[str], cache: ResultCache, settings: Any
) -> SanityRun:
    """Cascading and independent randomization for ``methods`` on ``images``; the class explained at every step
    is the trained model's top-1 class."""
    seed = settings["seed"]
    order = blocks(clf)
    targets = {im.name: int(clf.probabilities(im.array).argmax()) for im in images}
    trained = {
        (m, im.name): explain_one(cache, clf, im, m, targets[im.name], settings) for im in images for m in methods
    }
    first = images[0]
    run = SanityRun(order, methods, pd.DataFrame(), pd.DataFrame(), first_crop=clf.crop(first.array))
    run.initializer = initializer(clf)
    cascade = [compare(m, im.name, 0, "", trained[m, im.name], trained[m, im.name]) for im in images for m in methods]
    independent: list[dict[str, Any]] = []
    for m in methods:
        run.first_maps[m, 0] = trained[m, first.name].map
    steps = [("cascade", i, b) for i, b in enumerate(order, 1)] + [
        ("independent", i, b) for i, b in enumerate(order, 1)
    ]
    for mode, step, block in progress.bar(steps, desc="sanity checks", unit="step"):
        rclf = (
            randomize(clf, upto=block.name, seed=seed)
            if mode == "cascade"
            else randomize(clf, only=block.name, seed=seed)
        )
        for im in images:
            for m in methods:
                other = explain_one(cache, rclf, im, m, targets[im.name], settings)
                row = compare(m, im.name, step, block.name, trained[m, im.name], other)
                (cascade if mode == "cascade" else independent).append(row)
                if mode == "cascade" and im is first:
                    run.first_maps[m, step] = other.map
    run.cascade = pd.DataFrame(cascade, columns=COLUMNS)
    run.independent = pd.DataFrame(independent, columns=COLUMNS)
    return run


#: Images checked when ``sanity.images`` is unset and the classifier runs on a CPU (every image on a GPU).
CPU_IMAGES = 3


def image_count(setting: int | None, device_type: str) -> int | None:
    """How many report images chapter 5 checks: the setting, else all on a GPU and :data:`CPU_IMAGES` on a CPU
    (each image costs one explanation per method and randomized model)."""
    if setting is not None:
        return setting
    return None if device_type == "cuda" else CPU_IMAGES


def run(report) -> SanityRun:
    """Chapter 5 with the report's settings: ``sanity.images`` images (:func:`image_count`), ``sanity.methods``.

    The whole run is cached (:func:`xaireport.results.cached_sanity`): with every explanation cached, building
    the randomized networks only to look their maps up would still cost a minute."""
    s = report.settings
    clf = report.classifier()
    images = report.images()[: image_count(s["sanity.images"], clf.device_type)]
    methods = list(s["sanity.methods"])

    def compute() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return run_checks(real(clf), images, methods, report.cache, s).record()

    return SanityRun.from_record(*cached_sanity(report.cache, clf, images, methods, s, compute))


# --- Tables, figures and verdicts ------------------------------------------------------------------------------


def curves(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over images of every measure, per method and cascade step."""
    g = table.groupby(["method", "step", "randomized"], sort=False)
    out = g[list(MEASURES) + ["jaccard"]].agg(["mean", "std"])
    out.columns = [f"{a} {b}" for a, b in out.columns]
    return out.reset_index()


@dataclass
class Verdict:
    method: str
    passes: bool
    first_step: int | None  # first cascade step whose mean |Spearman| is below the threshold
    first_block: str | None
    final: float  # mean |Spearman| with every block random

    def sentence(self, threshold: float, within: int) -> str:
        label = LABELS[self.method]
        if self.first_step is None:
            return (
                f"**{label} fails**: its mean rank correlation with the trained map stays at or above {threshold} "
                f"even with every block random ({self.final:.2f} at the last step)."
            )
        how = "passes" if self.passes else "fails"
        when = (
            "once the top block is random"
            if self.first_step == 1
            else f"once the top {self.first_step} blocks are random (down to `{self.first_block}`)"
        )
        extra = "" if self.passes else f", later than the {within} blocks the check allows"
        back = ""
        if self.final >= threshold:
            back = (
                f" With every block random it rises again to {self.final:.2f}: the map of a random network "
                "still follows the image's edges and textures."
            )
        return f"**{label} {how}**: its mean rank correlation falls below {threshold} {when}{extra}.{back}"


def verdicts(run: SanityRun, threshold: float, within: int) -> list[Verdict]:
    """Per method: the first cascade step at which the mean over images of |Spearman| falls below ``threshold``;
    it passes when that happens within the top ``within`` blocks."""
    c = curves(run.cascade)
    out = []
    for m in run.methods:
        rows = c[(c["method"] == m) & (c["step"] > 0)].sort_values("step")
        below = rows[rows["spearman_abs mean"] < threshold]
        first = int(below["step"].iloc[0]) if len(below) else None
        block = str(below["randomized"].iloc[0]) if len(below) else None
        final = float(rows["spearman_abs mean"].iloc[-1]) if len(rows) else float("nan")
        out.append(Verdict(m, first is not None and first <= within, first, block, final))
    return out


def independent_table(run: SanityRun) -> pd.DataFrame:
    """Mean |Spearman| over images per block (rows, output first) and method (columns)."""
    t = run.independent.groupby(["randomized", "method"], sort=False)["spearman_abs"].mean().unstack("method")
    t = t.reindex(index=[b.name for b in run.order], columns=run.methods)
    t.columns = [LABELS[m] for m in t.columns]
    return t.reset_index().rename(columns={"randomized": "block randomized alone"})


@cached_figure
def cascade_figure(run: SanityRun, path: Path) -> Path:
    """Adebayo-style: rows = methods, columns = the trained model then each cascade step (first image)."""
    steps = range(len(run.order) + 1)
    rows = []
    for m in run.methods:
        row = []
        for step in steps:
            a = run.first_maps[m, step]
            lo, hi = float(a.min()), float(a.max())
            row.append((a - lo) / (hi - lo) if hi > lo else np.zeros_like(a))
        rows.append(row)
    cols = ["trained"] + [b.name for b in run.order]
    fig = image_grid(rows, [LABELS[m] for m in run.methods], cols, cmap="gray", size=1.1)
    return save_figure(fig, path)


@cached_figure
def curve_figure(run: SanityRun, path: Path) -> Path:
    """One panel per measure: mean ± std over images against the cascade step, all methods on each."""
    import matplotlib.pyplot as plt

    c = curves(run.cascade)
    names = ["trained"] + [b.name for b in run.order]
    fig, axes = plt.subplots(1, len(MEASURES), figsize=(4.2 * len(MEASURES), 3.4), sharey=True)
    for ax, (key, title) in zip(axes, MEASURES.items()):
        for m in run.methods:
            r = c[c["method"] == m].sort_values("step")
            ax.plot(r["step"], r[f"{key} mean"], marker="o", ms=3, label=LABELS[m])
            ax.fill_between(
                r["step"],
                r[f"{key} mean"] - r[f"{key} std"].fillna(0),
                r[f"{key} mean"] + r[f"{key} std"].fillna(0),
                alpha=0.15,
            )
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_ylim(-1.05, 1.05)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("similarity to the trained model's map")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def save_all(run: SanityRun, results_dir: Path) -> dict[str, Path]:
    """``cascade.csv`` and ``independent.csv`` (columns: :data:`COLUMNS`)."""
    from xaireport.core.fileio import save_csv

    return {
        "cascade": save_csv(run.cascade, results_dir / "cascade.csv", float_format="%.6f"),
        "independent": save_csv(run.independent, results_dir / "independent.csv", float_format="%.6f"),
    }
