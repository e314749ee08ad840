"""Chapter 5's computation, cached: model-parameter randomization (Adebayo et al. 2018) of every requested method
and of two controls with known answers, each randomized map compared with the trained model's map and with the
null of unrelated maps (:func:`xaireport.methods.sanity.null_comparison`), and the verdicts decided from them. Also
what ``xaireport sanity`` runs.

What is computed (``compute only the steps the chapter uses``, issue 34):

* the **verdict step** — the cascade with the top ``sanity.within_blocks`` blocks random — on **every** image with
  each of the ``sanity.seeds`` randomization seeds: the verdicts, the null and the edge baseline read it;
* **every cascade step** on the first ``sanity.cascade_images`` images with the first seed: the cascade figure and
  the curves;
* with ``sanity.independent``, each block randomized alone, on those images and seed.

Each randomized network is built once per (seed, step) and explains every image it is needed for before the next is
built. Every explanation goes through the result cache (:mod:`xaireport.results.explanations`): a randomized
classifier has its own ``weights_id``, so its maps are cached apart from the trained model's, and chapter 6 reads
the same maps. The whole run is cached too (:func:`run`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xaireport.core import progress
from xaireport.core.cache import ResultCache, make_key
from xaireport.images import LoadedImage
from xaireport.methods.decision import ABOVE, BELOW, Calibration, Decision, calibrate, decide
from xaireport.methods.explanations import Explanation
from xaireport.methods.sanity import (
    CONTROLS,
    Block,
    blocks,
    control_map,
    edge_map,
    edge_similarity,
    fisher_z,
    initializer,
    jaccard,
    nanmean,
    null_comparison,
    randomize,
    top_superpixels,
)
from xaireport.models import Classifier
from xaireport.models.description import real
from xaireport.results.explanations import cached_explanation, options
from xaireport.results.keys import AnyClassifier, model_parts

if TYPE_CHECKING:
    from xaireport.methods.registry import Method
    from xaireport.session import Session
    from xaireport.settings import SanitySettings, Settings

#: One row per method (or control), image, randomization seed and step. ``spearman``/``ssim``/``hog``: the row's map
#: against the trained map of the same image; ``*_null``: the mean of the same measure between the trained map and
#: the randomized maps of the *other* images under the same random weights (at step 0: between the trained map and
#: the other images' trained maps); correlations averaged on Fisher's z scale. ``spearman_abs``: the paper's rank
#: correlation of absolute values. ``edges``: the row's map against the image's Sobel edges. ``constant``: the
#: row's map is constant (its similarities are 0: it changed completely). ``mode``: cascade or independent.
COLUMNS = [
    "method",
    "control",
    "mode",
    "image",
    "seed",
    "step",
    "randomized",
    "spearman",
    "spearman_null",
    "spearman_abs",
    "ssim",
    "ssim_null",
    "hog",
    "hog_null",
    "edges",
    "jaccard",
    "constant",
]
_TEXT = ("method", "mode", "image", "randomized")


@dataclass
class SanityRun:
    """The trained model's explanations and every randomized model's, compared."""

    order: list[Block]
    methods: list[str]  # the explanation methods, then the controls (``control:edges``, ``control:noise``)
    table: pd.DataFrame  # :data:`COLUMNS`
    verdict_step: int
    seeds: list[int]
    first_maps: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # (method, step) → map of the first
    # image with the first seed
    first_crop: np.ndarray | None = None
    initializer: str = ""  # how the blocks were re-initialised (:func:`xaireport.methods.sanity.initializer`)

    @property
    def cascade(self) -> pd.DataFrame:
        return self.table[self.table["mode"] == "cascade"].reset_index(drop=True)

    @property
    def independent(self) -> pd.DataFrame:
        return self.table[self.table["mode"] == "independent"].reset_index(drop=True)

    @property
    def explained(self) -> list[str]:
        """The methods, without the controls."""
        return [m for m in self.methods if not is_control(m)]

    @property
    def images(self) -> list[str]:
        return list(dict.fromkeys(self.table["image"]))

    def record(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, meta) for the result cache; :meth:`from_record` inverts it."""
        arrays = {f"map/{m}/{step}": a for (m, step), a in self.first_maps.items()}
        if self.first_crop is not None:
            arrays["first_crop"] = self.first_crop
        meta: dict[str, Any] = {
            "order": [[b.name, list(b.modules)] for b in self.order],
            "methods": self.methods,
            "initializer": self.initializer,
            "verdict_step": self.verdict_step,
            "seeds": self.seeds,
            "text": {c: self.table[c].tolist() for c in _TEXT},
        }
        for c in COLUMNS:
            if c not in _TEXT:
                arrays[f"table/{c}"] = self.table[c].to_numpy()
        return arrays, meta

    @classmethod
    def from_record(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> SanityRun:
        table = pd.DataFrame({c: meta["text"][c] if c in _TEXT else arrays[f"table/{c}"] for c in COLUMNS})
        maps = {}
        for k, a in arrays.items():
            if k.startswith("map/"):
                _, m, step = k.rsplit("/", 2)
                maps[m, int(step)] = a
        return cls(
            [Block(n, tuple(mods)) for n, mods in meta["order"]],
            list(meta["methods"]),
            table,
            int(meta["verdict_step"]),
            [int(s) for s in meta["seeds"]],
            maps,
            arrays.get("first_crop"),
            meta["initializer"],
        )


def control_name(control: str) -> str:
    return f"control:{control}"


def is_control(name: str) -> bool:
    return name.startswith("control:")


@dataclass
class Explainer:
    """One method with the parameters the checks run it with (LIME: ``sanity.lime_num_samples`` samples)."""

    method: Method
    params: dict[str, Any]
    speed: dict[str, Any]

    def __call__(self, cache: ResultCache, clf: AnyClassifier, image: LoadedImage, target: int) -> Explanation:
        return cached_explanation(cache, clf, image, self.method, self.params, target, self.speed, show_progress=False)


def explainers(methods: list[Method], settings: Settings) -> list[Explainer]:
    """Each method's parameters from the settings; LIME with ``sanity.lime_num_samples`` samples."""
    out = []
    for m in methods:
        overrides = {"num_samples": settings.sanity.lime_num_samples} if "num_samples" in m.params else {}
        out.append(Explainer(m, *options(m, settings, **overrides)))
    return out


def top_set(e: Explanation, k: int) -> set[int] | None:
    """The top-``k`` superpixel set of an explanation that has superpixels (LIME), else ``None``."""
    return top_superpixels(e.parts["weights"], k) if "weights" in e.parts else None


@dataclass(frozen=True)
class Plan:
    """Which randomized networks a run builds and which images each explains."""

    verdict_step: int
    seeds: list[int]
    steps: list[tuple[str, int, int, tuple[int, ...]]]  # (mode, seed, step, image positions)


def plan(order: list[Block], images: int, seeds: list[int], within: int, cascade_images: int, independent: bool):
    """The verdict step on every image and seed; every cascade step (and, with ``independent``, every block alone)
    on the first ``cascade_images`` images with the first seed. Steps count from the output: step ``k`` randomizes
    the top ``k`` blocks (cascade) or the ``k``-th block alone (independent)."""
    verdict = min(within, len(order))
    wanted: dict[tuple[str, int, int], set[int]] = {}
    for seed in seeds:
        wanted.setdefault(("cascade", seed, verdict), set()).update(range(images))
    shown = range(min(cascade_images, images))
    for step in range(1, len(order) + 1):
        if shown:
            wanted.setdefault(("cascade", seeds[0], step), set()).update(shown)
            if independent:
                wanted.setdefault(("independent", seeds[0], step), set()).update(shown)
    steps = [(mode, seed, step, tuple(sorted(ims))) for (mode, seed, step), ims in sorted(wanted.items())]
    return Plan(verdict, seeds, steps)


def run_checks(
    clf: Classifier,
    images: list[LoadedImage],
    runs: list[Explainer],
    cache: ResultCache,
    seeds: list[int],
    k: int,
    sanity: SanitySettings,
) -> SanityRun:
    """Randomize and compare (see the module docstring); the class explained at every step is the trained model's
    top-1 class. ``k``: superpixels in the top set compared (LIME)."""
    order = blocks(clf)
    the_plan = plan(order, len(images), seeds, sanity.within_blocks, sanity.cascade_images, sanity.independent)
    names = [r.method.name for r in runs]
    controls = [control_name(c) for c in CONTROLS] if sanity.controls else []
    targets = {im.name: int(clf.probabilities(im.array).argmax()) for im in images}
    crops = {im.name: clf.crop(im.array) for im in images}

    trained: dict[tuple[str, str], Explanation | np.ndarray] = {}
    for im in images:
        for r in runs:
            trained[r.method.name, im.name] = r(cache, clf, im, targets[im.name])
        for c in controls:
            trained[c, im.name] = control_map(c.split(":", 1)[1], crops[im.name], clf.weights_id, im.digest)
    shape = _map(trained[(names + controls)[0], images[0].name]).shape if images and names + controls else (1, 1)
    edges = {im.name: edge_map(crops[im.name], shape) for im in images}
    randomized: dict[tuple[str, int, int], dict[tuple[str, str], Explanation | np.ndarray]] = {}
    for mode, seed, step, positions in progress.bar(the_plan.steps, desc="sanity checks", unit="network"):
        block = order[step - 1]
        if mode == "cascade":
            rclf = randomize(clf, upto=block.name, seed=seed)
        else:
            rclf = randomize(clf, only=block.name, seed=seed)
        out: dict[tuple[str, str], Explanation | np.ndarray] = {}
        for i in positions:
            im = images[i]
            for r in runs:
                out[r.method.name, im.name] = r(cache, rclf, im, targets[im.name])
            for c in controls:
                out[c, im.name] = control_map(c.split(":", 1)[1], crops[im.name], rclf.weights_id, im.digest)
        randomized[mode, seed, step] = out
    rows = _rows(order, images, names + controls, trained, randomized, edges, k)
    run = SanityRun(order, names + controls, rows, the_plan.verdict_step, seeds, initializer=initializer(clf))
    if images:
        first = images[0].name
        run.first_crop = crops[first]
        for m in names:
            run.first_maps[m, 0] = _map(trained[m, first])
            for step in range(1, len(order) + 1):
                e = randomized.get(("cascade", seeds[0], step), {}).get((m, first))
                if e is not None:
                    run.first_maps[m, step] = _map(e)
    return run


def _map(e: Explanation | np.ndarray) -> np.ndarray:
    return e.map if isinstance(e, Explanation) else e


def _rows(
    order: list[Block],
    images: list[LoadedImage],
    methods: list[str],
    trained: dict,
    randomized: dict,
    edges: dict[str, np.ndarray],
    k: int,
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    names = [im.name for im in images]
    seeds = sorted({seed for _, seed, _ in randomized}) or [0]
    for m in methods:
        t_maps = [_map(trained[m, n]) for n in names]
        own = {meas: null_comparison(t_maps, [t_maps], meas) for meas in ("spearman", "ssim", "hog")}
        for i, n in enumerate(names):  # step 0: the trained map against itself; the null: other images' trained maps
            for seed in seeds:
                row = _row(m, "cascade", n, seed, 0, "", trained[m, n], trained[m, n], edges[n], k)
                for meas, c in own.items():
                    row[meas], row[f"{meas}_null"] = float(c.matched[i, 0]), float(c.trained_null[i])
                rows.append(row)
        for (mode, seed, step), maps in randomized.items():
            present = [n for n in names if (m, n) in maps]
            ts, rs = [_map(trained[m, n]) for n in present], [_map(maps[m, n]) for n in present]
            comps = {meas: null_comparison(ts, [rs], meas) for meas in ("spearman", "ssim", "hog")}
            for i, n in enumerate(present):
                row = _row(m, mode, n, seed, step, order[step - 1].name, trained[m, n], maps[m, n], edges[n], k)
                for meas, c in comps.items():
                    row[meas] = float(c.matched[i, 0])
                    row[f"{meas}_null"] = float(c.null[i, 0])
                rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values(["mode", "seed", "step"], kind="stable").reset_index(drop=True)


def _row(
    method: str, mode: str, image: str, seed: int, step: int, block: str, trained: Any, other: Any, edges: Any, k: int
) -> dict[str, Any]:
    """The columns of one row that compare two maps of one image; the similarities with their null are filled in by
    the caller (:func:`~xaireport.methods.sanity.null_comparison`)."""
    from xaireport.methods.agreement import spearman

    t, o = _map(trained), _map(other)
    constant = bool(o.min() == o.max())
    row: dict[str, Any] = {
        "method": method,
        "control": is_control(method),
        "mode": mode,
        "image": image,
        "seed": seed,
        "step": step,
        "randomized": block,
        # a constant randomized map has changed completely (0); a constant trained map has nothing to compare (NaN)
        "spearman_abs": 0.0 if constant and t.min() != t.max() else spearman(np.abs(t), np.abs(o)),
        "edges": 0.0 if constant else edge_similarity(o, edges),
        "jaccard": float("nan"),
        "constant": constant,
    }
    if isinstance(trained, Explanation) and isinstance(other, Explanation):
        a, b = top_set(trained, k), top_set(other, k)
        if a is not None and b is not None:
            row["jaccard"] = jaccard(a, b)
    return row


# --- Verdicts --------------------------------------------------------------------------------------------------

#: The effect the chapter states the design's power for: a residual rank correlation of 0.3 beyond the null.
EFFECT = 0.3
#: The verdict is an equivalence test (two one-sided tests, TOST): "fails" when a one-sided test at 5% shows the
#: difference above the margin, "passes" when one shows it below; both at once are the two ends of one 90% interval.
CONFIDENCE = 0.90


@dataclass(frozen=True)
class Verdict:
    """One method's (or control's) verdict at the verdict step, decided on the per-image differences between its
    matched similarity and its null (:meth:`xaireport.methods.sanity.NullComparison.differences`, Spearman ρ on
    Fisher's z scale, seeds averaged within each image) against the margin, with the :data:`CONFIDENCE` interval
    over images (Student's t): wholly above the margin — **fails** (the randomized map still shares more with its own
    trained map than unrelated maps do); wholly below — **passes**; otherwise not decided on this many images. Each
    direction is a one-sided test at 5% (TOST), so at the margin either wrong verdict has at most a 5% chance."""

    method: str
    outcome: str  # "passes", "fails" or "undecided"
    step: int
    block: str
    decision: Decision  # on the per-image differences (z), against ``margin``
    margin: float
    reference_kind: str  # "other-images", or "fixed" (the setting, or maps the same for every image)
    matched: float  # mean ρ of the randomized maps with their trained map (z-averaged)
    reference: float  # what it is tested against: the mean null ρ, or the fixed threshold
    trained_null: float  # mean ρ of trained maps of different images
    constant: int  # randomized maps that were constant (counted as changed)
    maps: int  # randomized maps at the verdict step
    calibration: Calibration
    effect_z: float  # :data:`EFFECT` on the z scale at this method's null level
    detectable: float  # the smallest residual ρ (beyond the null) decided with 80% power, on the ρ scale
    ssim: Decision  # the same design on SSIM (raw differences) and HOG similarity (z): shown, not deciding
    hog: Decision

    @property
    def control(self) -> bool:
        return is_control(self.method)

    @property
    def passes(self) -> bool:
        return self.outcome == "passes"


def _per_image(rows: pd.DataFrame, column: str) -> np.ndarray:
    return rows.pivot_table(index="image", columns="seed", values=column, dropna=False, sort=False).to_numpy()


def _verdict_rows(run: SanityRun, method: str) -> pd.DataFrame:
    c = run.cascade
    return c[(c["method"] == method) & (c["step"] == run.verdict_step)]


#: A method whose trained maps correlate above this between different images gives (nearly) the same map for every
#: image: unrelated maps cannot serve as its null (they are its own map), so it is tested against the fixed
#: threshold instead — a map that changes with neither the image nor the weights fails.
SAME_FOR_EVERY_IMAGE = 0.99


def reference_kind(run: SanityRun, method: str, sanity: SanitySettings) -> str:
    """``other-images`` or ``fixed``: the setting, except for a method whose maps are the same for every image
    (:data:`SAME_FOR_EVERY_IMAGE`), which is tested against the fixed threshold."""
    if sanity.reference == "fixed":
        return "fixed"
    same = _trained_null(run.cascade, method)
    return "fixed" if np.isfinite(same) and same >= SAME_FOR_EVERY_IMAGE else "other-images"


def _matched_and_reference(
    run: SanityRun, rows: pd.DataFrame, sanity: SanitySettings
) -> tuple[np.ndarray, np.ndarray, float, str]:
    """(matched z, reference z, margin, kind), images × seeds: the reference is the null of the other images'
    randomized maps (``other-images``) or the fixed ``threshold`` (margin 0)."""
    matched = fisher_z(_per_image(rows, "spearman"))
    kind = reference_kind(run, str(rows["method"].iloc[0]), sanity)
    if kind == "fixed":
        return matched, np.full_like(matched, float(fisher_z(sanity.threshold))), 0.0, kind
    return matched, fisher_z(_per_image(rows, "spearman_null")), sanity.margin, kind


def differences(run: SanityRun, method: str, sanity: SanitySettings) -> dict[str, float]:
    """Per image: the mean over seeds of the matched ρ (Fisher z) minus the mean over seeds of its reference — the
    values a verdict is decided on (:func:`verdicts`); chapter 6 ranks the methods by them."""
    rows = _verdict_rows(run, method)
    if rows.empty:
        return {}
    matched, reference, _, _ = _matched_and_reference(run, rows, sanity)
    names = rows.pivot_table(index="image", columns="seed", values="spearman", dropna=False, sort=False).index
    diff = nanmean(matched - reference, axis=1)
    return {str(n): float(d) for n, d in zip(names, diff)}


def seed_means(run: SanityRun, sanity: SanitySettings) -> pd.DataFrame:
    """Per method (rows) and seed (columns ``seed <s>``): the mean over the images of the matched ρ minus its
    reference (Fisher z) at the verdict step — how far single draws of random weights scatter."""
    out = {}
    for m in run.methods:
        rows = _verdict_rows(run, m)
        if rows.empty:
            continue
        matched, reference, _, _ = _matched_and_reference(run, rows, sanity)
        seeds = rows.pivot_table(index="image", columns="seed", values="spearman", dropna=False, sort=False).columns
        out[m] = {f"seed {sd}": float(v) for sd, v in zip(seeds, nanmean(matched - reference, axis=0))}
    return pd.DataFrame.from_dict(out, orient="index")


def verdicts(run: SanityRun, sanity: SanitySettings, effect: float = EFFECT, draws: int = 2000) -> list[Verdict]:
    """The verdict of every method and control at the run's verdict step (see :class:`Verdict`). With
    ``sanity.reference == "fixed"`` the reference is the fixed rank correlation ``sanity.threshold`` (margin 0)."""
    out = []
    for m in run.methods:
        rows = _verdict_rows(run, m)
        if rows.empty:
            continue
        matched, reference, margin, kind = _matched_and_reference(run, rows, sanity)
        d = decide(matched - reference, margin, CONFIDENCE)  # images × seeds: seeds averaged within each image
        diff = nanmean(matched - reference, axis=1)
        outcome = {ABOVE: "fails", BELOW: "passes"}.get(d.outcome, "undecided")
        level = float(np.tanh(nanmean(reference))) if np.isfinite(reference).any() else 0.0
        effect_z = float(fisher_z(level + effect) - fisher_z(level))
        spread = diff[~np.isnan(diff)]
        cal = calibrate(
            spread if len(spread) > 1 else np.zeros(2), max(d.images, 2), margin, effect_z, draws, confidence=CONFIDENCE
        )
        detectable = float(np.tanh(fisher_z(level) + cal.detectable) - level) if np.isfinite(cal.detectable) else 1.0
        out.append(
            Verdict(
                m,
                outcome,
                run.verdict_step,
                run.order[run.verdict_step - 1].name,
                d,
                margin,
                kind,
                float(np.tanh(nanmean(matched))) if np.isfinite(matched).any() else float("nan"),
                level if kind == "other-images" else sanity.threshold,
                _trained_null(run.cascade, m),
                int(rows["constant"].sum()),
                len(rows),
                cal,
                effect_z,
                detectable,
                _secondary(rows, "ssim", margin, correlation=False),
                _secondary(rows, "hog", margin, correlation=True),
            )
        )
    return out


def _secondary(rows: pd.DataFrame, measure: str, margin: float, correlation: bool) -> Decision:
    a, b = _per_image(rows, measure), _per_image(rows, f"{measure}_null")
    if correlation:
        a, b = fisher_z(a), fisher_z(b)
    return decide(a - b, margin, CONFIDENCE)


def _trained_null(cascade: pd.DataFrame, method: str) -> float:
    r = cascade[(cascade["method"] == method) & (cascade["step"] == 0)]
    v = fisher_z(r.groupby("image")["spearman_null"].first().to_numpy())
    return float(np.tanh(nanmean(v))) if np.isfinite(v).any() else float("nan")


@dataclass(frozen=True)
class EdgeBaseline:
    """The paper's edge-detector comparison for one method: mean over images (and seeds) of the rank correlation of
    the map's |values| with the image's Sobel edges, for the trained model and at the verdict step, and the
    decision whether the randomized maps follow the edges more than the trained ones (per-image difference, seeds
    averaged, against 0)."""

    method: str
    trained: float
    random: float
    change: Decision


def edge_baseline(run: SanityRun) -> list[EdgeBaseline]:
    c = run.cascade
    out = []
    for m in run.methods:
        rows = c[c["method"] == m]
        trained = rows[rows["step"] == 0].groupby("image")["edges"].mean()
        random = rows[rows["step"] == run.verdict_step].pivot_table(
            index="image", columns="seed", values="edges", dropna=False
        )
        if random.empty:
            continue
        diff = random.sub(trained.reindex(random.index), axis=0).to_numpy()
        out.append(EdgeBaseline(m, float(trained.mean()), float(np.nanmean(random.to_numpy())), decide(diff, 0.0)))
    return out


def seed_list(seed: int, count: int) -> list[int]:
    """The randomization seeds of a run: ``seed``, ``seed + 1``, … (``count`` of them; ``sanity.seeds``)."""
    return [seed + i for i in range(count)]


def sanity_key(
    classifier: AnyClassifier, images: list[LoadedImage], runs: list[Explainer], seeds: list[int], k: int, sanity: Any
) -> str:
    return make_key(
        code=(__name__, *(r.method.module for r in runs)),
        kind="sanity",
        **model_parts(classifier),
        images=[im.digest for im in images],
        methods=[[r.method.name, r.params] for r in runs],
        seeds=seeds,
        top_k=k,
        plan=[sanity.within_blocks, sanity.cascade_images, sanity.independent, sanity.controls],
    )


def run(
    session: Session,
    methods: list[Method] | None = None,
    images: list[LoadedImage] | None = None,
    figures: bool = True,
) -> SanityRun:
    """The checks with the session's settings: ``sanity.methods`` (or ``methods``) on the first ``sanity.images``
    images (all when unset; or ``images``), with ``sanity.seeds`` randomization seeds from ``seed`` on
    (:func:`seed_list`), cached as a whole. ``figures=False``: only the verdict step, no controls (what chapter 6
    needs: chapter 5's test for its methods)."""
    import dataclasses

    s = session.settings
    sanity = s.sanity if figures else dataclasses.replace(s.sanity, cascade_images=0, controls=False, independent=False)
    clf = session.classifier()
    if images is None:
        images = session.images()[: s.sanity.images]
    if methods is None:
        methods = [session.method(m) for m in s.sanity.methods]
    runs = explainers(methods, s)
    k = s.lime.num_features
    seeds = seed_list(s.seed, s.sanity.seeds)

    def compute() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return run_checks(real(clf), images, runs, session.cache, seeds, k, sanity).record()

    arrays, meta = session.cache.get_or_compute("sanity", sanity_key(clf, images, runs, seeds, k, sanity), compute)
    return SanityRun.from_record(arrays, meta)
