"""Chapter 2's computations, all through the result cache: CAMs per image and method, their faithfulness,
the tables and figures. Also the writer behind ``xaireport cams``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xaireport.core import progress
from xaireport.core.fileio import save_csv
from xaireport.images import LoadedImage
from xaireport.methods.cams import LABELS, METHODS, check_methods
from xaireport.methods.explanations import CamResult
from xaireport.outputs import overlay, write_cam_outputs
from xaireport.report.figures import cached_figure, image_grid, save_figure
from xaireport.results import cached_cam, cached_faithfulness


@dataclass
class CamRun:
    """Every method's explanation of one image."""

    image: LoadedImage
    crop: np.ndarray
    results: dict[str, CamResult]
    faithfulness: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def prediction(self) -> CamResult:
        return next(iter(self.results.values()))


def run(report, with_faithfulness: bool = True, methods: list[str] | None = None) -> list[CamRun]:
    """Chapter 2: every configured method (or ``methods``) on every report image (cached)."""
    s = report.settings
    methods = methods or s.cams.methods
    check_methods(methods)
    clf, cache = report.classifier(), report.cache
    runs = []
    for image in progress.bar(report.images(), desc="CAMs", unit="image"):
        results = {}
        for m in methods:
            setting = METHODS[m].batch_setting
            bs = s[setting] if setting else None
            results[m] = cached_cam(cache, clf, image, m, batch_size=bs)
        r = CamRun(image, clf.crop(image.array), results)
        if with_faithfulness:
            r.faithfulness = {
                m: cached_faithfulness(cache, clf, image, res, s.cams.road_percentiles, s.cams.remove_fraction, s.seed)
                for m, res in results.items()
            }
        runs.append(r)
    return runs


def predictions_table(runs: list[CamRun]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "image": r.image.name,
                "class_index": r.prediction.class_index,
                "class_name": r.prediction.class_name,
                "probability": r.prediction.score,
            }
            for r in runs
        ]
    )


def runtime_table(runs: list[CamRun]) -> pd.DataFrame:
    """Seconds per image for each method (as measured when the result was computed)."""
    rows = []
    methods = list(runs[0].results) if runs else []
    for m in methods:
        secs = np.array([r.results[m].seconds for r in runs])
        rows.append(
            {"method": LABELS[m], "mean s / image": secs.mean(), "max s / image": secs.max(), "total s": secs.sum()}
        )
    return pd.DataFrame(rows)


def faithfulness_table(runs: list[CamRun]) -> pd.DataFrame:
    rows = []
    for r in runs:
        for m, f in r.faithfulness.items():
            rows.append({"image": r.image.name, "method": LABELS[m], "ROAD": f["road"], "drop": f["drop"]})
    return pd.DataFrame(rows)


def faithfulness_summary(runs: list[CamRun]) -> pd.DataFrame:
    """Mean ROAD and mean drop per method, ranked by ROAD (1 = most faithful)."""
    t = faithfulness_table(runs)
    g = (
        t.groupby("method", sort=False)
        .agg(ROAD=("ROAD", "mean"), ROAD_std=("ROAD", "std"), drop=("drop", "mean"), drop_std=("drop", "std"))
        .reset_index()
    )
    wins = t.loc[t.groupby("image")["ROAD"].idxmax(), "method"].value_counts()
    g["best on images"] = g["method"].map(wins).fillna(0).astype(int)
    g["rank"] = g["ROAD"].rank(ascending=False, method="min").astype(int)
    return g.sort_values("rank").reset_index(drop=True)


@cached_figure
def overlay_figure(runs: list[CamRun], path: Path) -> Path:
    rows, titles = [], []
    for r in runs:
        rows.append([r.crop] + [overlay(r.crop, res.map) for res in r.results.values()])
        p = r.prediction
        titles.append([f"{p.class_name} ({p.score:.2f})"] + [""] * len(r.results))
    cols = ["input"] + [LABELS[m] for m in runs[0].results]
    fig = image_grid(rows, [r.image.stem for r in runs], cols, cell_titles=titles)
    return save_figure(fig, path)


@cached_figure
def row_figure(r: CamRun, path: Path) -> Path:
    """One image's input and overlays in a row (the HTML page's per-image tabs)."""
    p = r.prediction
    cells = [r.crop] + [overlay(r.crop, res.map) for res in r.results.values()]
    titles = [f"{p.class_name} ({p.score:.2f})"] + [LABELS[m] for m in r.results]
    fig = image_grid([cells], [""], [""] * len(cells), cell_titles=[titles], titles_only=True, size=2.6)
    return save_figure(fig, path)


@cached_figure
def mask_figure(runs: list[CamRun], path: Path) -> Path:
    rows = [[res.map for res in r.results.values()] for r in runs]
    fig = image_grid(rows, [r.image.stem for r in runs], [LABELS[m] for m in runs[0].results], cmap="gray")
    return save_figure(fig, path)


def save_all(runs: list[CamRun], figures_dir: Path, results_dir: Path) -> None:
    """Per-image outputs as ``xaireport cams`` writes them, into the chapter's figures and results folders."""
    for r in runs:
        for res in r.results.values():
            write_cam_outputs(figures_dir, r.image.stem, r.crop, res)
    save_csv(predictions_table(runs), results_dir / "predictions.csv")
    if runs and runs[0].faithfulness:
        save_csv(faithfulness_table(runs), results_dir / "faithfulness.csv")
    if runs:
        save_csv(shape_table(runs), results_dir / "shape.csv")


@dataclass
class RankingVerdict:
    """Whether the faithfulness ranking of the methods is a reliable difference on these images: the gap
    between the best and the worst mean ROAD against the largest standard deviation across images."""

    best: pd.Series
    worst: pd.Series
    gap: float
    spread: float

    @property
    def reliable(self) -> bool:
        return self.gap >= self.spread


def ranking_verdict(summary: pd.DataFrame) -> RankingVerdict:
    best, worst = summary.iloc[0], summary.iloc[-1]
    return RankingVerdict(best, worst, float(best["ROAD"] - worst["ROAD"]), float(summary["ROAD_std"].max()))


def tabs_markdown(runs: list[CamRun], report, figures_dir: Path) -> str:
    """HTML only: one tab per image with a larger view of its input and maps (figures saved per image)."""
    parts = ['::: {.content-visible when-format="html"}\n\n::: {.panel-tabset}\n']
    for r in runs:
        png = row_figure(r, figures_dir / "rows" / f"{r.image.stem}.png")
        parts.append(
            f"### {r.image.stem}\n\n![{r.image.name}: {r.prediction.class_name} ({r.prediction.score:.2f}) "
            f"with the {', '.join(LABELS[m] for m in r.results)} overlays.]({report.md_path(png)})\n"
        )
    parts.append(":::\n\n:::\n")
    return "\n".join(parts)


__all__ = ["CamRun", "RankingVerdict", "ranking_verdict", "run", "tabs_markdown"]


# --- Diffuse or sharp? (the claims a reader brings: AblationCAM "more diffuse", ScoreCAM "sharper") ---------


def map_shape_measures(m: np.ndarray) -> dict[str, float]:
    """How spread out one map (values in [0, 1]) is: the fraction of pixels at or above 0.5, the entropy of the
    map as a distribution over pixels divided by its maximum log N (1 = uniform, i.e. fully diffuse), and the
    Gini coefficient of its values (0 = uniform, → 1 = all mass on few pixels, i.e. sharp)."""
    x = np.asarray(m, dtype=np.float64).ravel()
    total = x.sum()
    if total <= 0:
        return {"area ≥ 0.5": 0.0, "entropy": float("nan"), "Gini": float("nan")}
    p = x / total
    nz = p[p > 0]
    entropy = float(-(nz * np.log(nz)).sum() / np.log(x.size))
    s = np.sort(x)
    n = s.size
    gini = float(((2 * np.arange(1, n + 1) - n - 1) * s).sum() / (n * total))
    return {"area ≥ 0.5": float((x >= 0.5).mean()), "entropy": entropy, "Gini": gini}


def shape_table(runs: list[CamRun]) -> pd.DataFrame:
    """Per image and method: :func:`map_shape_measures`."""
    rows = [
        {"image": r.image.name, "method": LABELS[m], **map_shape_measures(res.map)}
        for r in runs
        for m, res in r.results.items()
    ]
    return pd.DataFrame(rows)


def shape_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean of each measure over the images, in display order."""
    order = [LABELS[m] for m in METHODS if LABELS[m] in set(table["method"])]
    out = table.groupby("method")[["area ≥ 0.5", "entropy", "Gini"]].mean().reindex(order)
    out.index.name = "method"
    return out


@dataclass
class ClaimCheck:
    claim: str
    holds: bool
    images: int  # images on which the ordering holds
    total: int
    detail: str

    def sentence(self) -> str:
        verdict = "borne out" if self.holds else "not borne out"
        return f"*{self.claim}*: **{verdict}** here — {self.detail} (on {self.images} of {self.total} images)."


def check_claims(table: pd.DataFrame) -> list[ClaimCheck]:
    """The assignment's two claims, decided from the numbers: AblationCAM is more diffuse than the other methods
    (the highest mean entropy), ScoreCAM is sharper (the highest mean Gini); the areas ≥ 0.5 are reported beside."""
    wide = table.pivot(index="image", columns="method")
    methods = list(dict.fromkeys(table["method"]))
    out = []
    for label, measure, claim in (
        ("AblationCAM", "entropy", "AblationCAM gives a more diffuse attribution map"),
        ("ScoreCAM", "Gini", "ScoreCAM gives sharper, higher-contrast explanations"),
    ):
        if label not in methods or len(methods) < 2:
            continue
        others = [m for m in methods if m != label]
        col = wide[measure]
        wins = int((col[label] > col[others].max(axis=1)).sum())
        means = col.mean()
        holds = bool(means[label] > means[others].max())
        area = wide["area ≥ 0.5"].mean()
        detail = (
            f"mean {measure} {means[label]:.3f} against "
            + ", ".join(f"{means[o]:.3f} ({o})" for o in others)
            + f"; area ≥ 0.5 {area[label]:.3f} against "
            + ", ".join(f"{area[o]:.3f} ({o})" for o in others)
        )
        out.append(ClaimCheck(claim, holds, wins, len(col), detail))
    return out


def grid_size(classifier) -> tuple[int, int]:
    """The target layer's spatial grid for the model's input crop (e.g. 7 × 7 for 224 px and stride 32)."""
    from xaireport.models.description import LazyClassifier, feature_grid

    return classifier.grid if isinstance(classifier, LazyClassifier) else feature_grid(classifier)
