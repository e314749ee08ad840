"""Chapter 5's computation, cached: model-parameter randomization (cascading and independent) of every requested
method, each map compared with the trained model's (:mod:`xaireport.methods.sanity`). Also what
``xaireport sanity`` runs.

Every explanation goes through the result cache (:mod:`xaireport.results.explanations`): a randomized classifier
has its own ``weights_id``, so its maps are cached apart from the trained model's. The whole run is cached too
(:func:`run`): with every map cached, rebuilding the randomized networks only to look their maps up would still
cost a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xaireport.core import progress
from xaireport.core.cache import ResultCache, make_key
from xaireport.images import LoadedImage
from xaireport.methods.explanations import Explanation
from xaireport.methods.sanity import (
    Block,
    blocks,
    edge_map,
    edge_similarity,
    initializer,
    jaccard,
    randomize,
    similarities,
    top_superpixels,
)
from xaireport.models import Classifier
from xaireport.models.description import real
from xaireport.results.explanations import cached_explanation, options
from xaireport.results.keys import AnyClassifier, model_parts

if TYPE_CHECKING:
    from xaireport.methods.registry import Method
    from xaireport.session import Session
    from xaireport.settings import Settings

#: One row per method, image, randomization seed and step. ``edges``: rank correlation of the row's (randomized)
#: map with the Sobel edges of the image (:func:`xaireport.methods.sanity.edge_similarity`); the rest compare the
#: row's map with the trained model's.
COLUMNS = [
    "method",
    "image",
    "seed",
    "step",
    "randomized",
    "spearman",
    "spearman_abs",
    "ssim",
    "hog",
    "edges",
    "jaccard",
]


@dataclass
class SanityRun:
    """The trained model's explanations and every randomized model's, compared."""

    order: list[Block]
    methods: list[str]
    cascade: pd.DataFrame
    independent: pd.DataFrame
    first_maps: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # (method, step) → map, 1st image
    # and 1st seed
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


def compare(
    method: str,
    image: str,
    seed: int,
    step: int,
    randomized: str,
    trained: Explanation,
    other: Explanation,
    k: int,
    edges: np.ndarray,
) -> dict[str, Any]:
    """One row of :data:`COLUMNS`: ``other`` (a randomized model's explanation) against ``trained``."""
    row = {
        "method": method,
        "image": image,
        "seed": seed,
        "step": step,
        "randomized": randomized,
        **similarities(trained.map, other.map),
        "edges": edge_similarity(other.map, edges),
        "jaccard": float("nan"),
    }
    a, b = top_set(trained, k), top_set(other, k)
    if a is not None and b is not None:
        row["jaccard"] = jaccard(a, b)
    return row


def run_checks(
    clf: Classifier, images: list[LoadedImage], runs: list[Explainer], cache: ResultCache, seeds: list[int], k: int
) -> SanityRun:
    """Cascading randomization with each of ``seeds`` and independent randomization with the first seed, for the
    methods of ``runs`` on ``images``; the class explained at every step is the trained model's top-1 class.
    ``k``: superpixels in the top set compared (LIME)."""
    order = blocks(clf)
    names = [r.method.name for r in runs]
    targets = {im.name: int(clf.probabilities(im.array).argmax()) for im in images}
    trained = {(r.method.name, im.name): r(cache, clf, im, targets[im.name]) for im in images for r in runs}
    edges = {
        im.name: edge_map(clf.crop(im.array), trained[names[0], im.name].map.shape) if names else np.zeros(0)
        for im in images
    }
    first = images[0]
    run = SanityRun(order, names, pd.DataFrame(), pd.DataFrame(), first_crop=clf.crop(first.array))
    run.initializer = initializer(clf)

    def row(m: str, im: LoadedImage, seed: int, step: int, block: str, other: Explanation) -> dict[str, Any]:
        return compare(m, im.name, seed, step, block, trained[m, im.name], other, k, edges[im.name])

    cascade = [row(m, im, seed, 0, "", trained[m, im.name]) for seed in seeds for im in images for m in names]
    independent: list[dict[str, Any]] = []
    for m in names:
        run.first_maps[m, 0] = trained[m, first.name].map
    steps = [("cascade", seed, i, b) for seed in seeds for i, b in enumerate(order, 1)]
    steps += [("independent", seeds[0], i, b) for i, b in enumerate(order, 1)]
    for mode, seed, step, block in progress.bar(steps, desc="sanity checks", unit="step"):
        if mode == "cascade":
            rclf = randomize(clf, upto=block.name, seed=seed)
        else:
            rclf = randomize(clf, only=block.name, seed=seed)
        for im in images:
            for r in runs:
                m = r.method.name
                other = r(cache, rclf, im, targets[im.name])
                (cascade if mode == "cascade" else independent).append(row(m, im, seed, step, block.name, other))
                if mode == "cascade" and im is first and seed == seeds[0]:
                    run.first_maps[m, step] = other.map
    # per seed: the trained row (step 0), then each step
    run.cascade = pd.DataFrame(cascade, columns=COLUMNS).sort_values(["seed", "step"], kind="stable")
    run.cascade = run.cascade.reset_index(drop=True)
    run.independent = pd.DataFrame(independent, columns=COLUMNS)
    return run


def seed_list(seed: int, count: int) -> list[int]:
    """The randomization seeds of a run: ``seed``, ``seed + 1``, … (``count`` of them; ``sanity.seeds``)."""
    return [seed + i for i in range(count)]


#: Images checked when ``sanity.images`` is unset and the classifier runs on a CPU (every image on a GPU).
CPU_IMAGES = 3


def image_count(setting: int | None, device_type: str) -> int | None:
    """How many images chapter 5 checks: the setting, else all on a GPU and :data:`CPU_IMAGES` on a CPU (each
    image costs one explanation per method and randomized model)."""
    if setting is not None:
        return setting
    return None if device_type == "cuda" else CPU_IMAGES


def sanity_key(
    classifier: AnyClassifier, images: list[LoadedImage], runs: list[Explainer], seeds: list[int], k: int
) -> str:
    return make_key(
        code=(__name__, *(r.method.module for r in runs)),
        kind="sanity",
        **model_parts(classifier),
        images=[im.digest for im in images],
        methods=[[r.method.name, r.params] for r in runs],
        seeds=seeds,
        top_k=k,
    )


def run(session: Session, methods: list[Method] | None = None, images: list[LoadedImage] | None = None) -> SanityRun:
    """The checks with the session's settings: ``sanity.methods`` (or ``methods``) on the first ``sanity.images``
    images (:func:`image_count`; or ``images``), the cascade with ``sanity.seeds`` randomization seeds from
    ``seed`` on (:func:`seed_list`), cached as a whole."""
    s = session.settings
    clf = session.classifier()
    if images is None:
        images = session.images()[: image_count(s.sanity.images, clf.device_type)]
    if methods is None:
        methods = [session.method(m) for m in s.sanity.methods]
    runs = explainers(methods, s)
    k = s.lime.num_features
    seeds = seed_list(s.seed, s.sanity.seeds)

    def compute() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return run_checks(real(clf), images, runs, session.cache, seeds, k).record()

    arrays, meta = session.cache.get_or_compute("sanity", sanity_key(clf, images, runs, seeds, k), compute)
    return SanityRun.from_record(arrays, meta)
