"""Chapter 6's computation, cached per method and image (adding a method computes that method only): every
measure of :mod:`xaireport.methods.evaluation`, ROAD (:mod:`xaireport.results.faithfulness`) and chapter 5's
randomization test, for one method's explanation of one image.

The explanations themselves go through the explanation cache, so chapter 2's CAMs, chapter 3's LIME and chapter 5's
randomized maps are reused, not recomputed. Chapter 5's rule, applied here per method: the top
``sanity.within_blocks`` blocks are re-initialised (chapter 5's cascade step, with each of its ``sanity.seeds``
seeds and its explainer settings, e.g. LIME with ``sanity.lime_num_samples``) and the map's |ρ| with the trained
map is recorded per seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xaireport.core import progress
from xaireport.core.cache import make_key
from xaireport.images import LoadedImage
from xaireport.models.description import real
from xaireport.results.explanations import explain, options
from xaireport.results.faithfulness import cached_faithfulness
from xaireport.results.keys import model_parts
from xaireport.results.sanity import explainers, image_count, seed_list

if TYPE_CHECKING:
    from xaireport.methods.registry import Method
    from xaireport.models import Classifier
    from xaireport.session import Session

#: The per-image measures, in the order of the chapter's tables.
MEASURES = [
    "road",
    "deletion",
    "insertion",
    "randomized_rho",
    "random_logit_ssim",
    "max_sensitivity",
    "gini",
    "seconds",
    "peak_mb",
]


def probability(classifier: Classifier, index: int, batch: int = 16):
    """A batch of model-size uint8 crops → the softmax probability of class ``index`` for each."""
    import torch

    def fn(crops: np.ndarray) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for i in range(0, len(crops), batch):
                logits = classifier.model(classifier.to_input(crops[i : i + batch]))
                out.append(torch.softmax(logits.float(), dim=1)[:, index].cpu().numpy())
        return np.concatenate(out)

    return fn


def _measure(session: Session, method: Method, image: LoadedImage) -> dict[str, Any]:
    from xaireport.core.memory import measure
    from xaireport.methods import evaluation as ev
    from xaireport.methods.agreement import spearman
    from xaireport.methods.sanity import blocks, randomize

    s = session.settings
    lazy = session.classifier()
    clf = real(lazy)
    e = explain(session, image, method)
    crop = clf.crop(image.array)
    params, speed = options(method, s)
    road = cached_faithfulness(session.cache, lazy, image, e, s.cams.road_percentiles, s.cams.remove_fraction, s.seed)[
        "road"
    ]
    deletion, insertion = ev.deletion_insertion(
        probability(clf, e.class_index), crop, e.map, s.evaluation.deletion_steps, s.seed
    )
    other = ev.other_class(e.class_index, len(clf.categories), s.seed)
    random_logit = ev.random_logit_similarity(e.map, explain(session, image, method, other).map)

    timed: list[tuple[float, int]] = []

    def map_of(img: np.ndarray) -> np.ndarray:
        run = lambda: method.explain(clf, img, e.class_index, progress=False, **params, **speed).map  # noqa: E731
        if timed:
            return run()
        out, seconds, peak = measure(run, clf.device.type)  # the cost: the first fresh run (never cached)
        timed.append((seconds, peak))
        return out

    sensitivity = ev.max_sensitivity(
        map_of, image.array, s.evaluation.sensitivity_samples, s.evaluation.sensitivity_radius, s.seed, base=e.map
    )
    if not timed:  # a zero map: max-sensitivity is undefined and ran nothing, so the cost is measured on its own
        map_of(image.array)
    seconds, peak = timed[0]
    runner = explainers([method], s)[0]
    trained = runner(session.cache, lazy, image, e.class_index)
    order = blocks(clf)
    block = order[min(s.sanity.within_blocks, len(order)) - 1]
    rhos = []
    for seed in seed_list(s.seed, s.sanity.seeds):
        random = runner(session.cache, randomize(clf, upto=block.name, seed=seed), image, e.class_index)
        rhos.append(abs(spearman(np.abs(trained.map), np.abs(random.map))))
    return {
        "road": road,
        "deletion": deletion,
        "insertion": insertion,
        "randomized_rho": rhos,
        "randomized_block": block.name,
        "random_logit_ssim": random_logit,
        "other_class": other,
        "max_sensitivity": sensitivity,
        "gini": ev.gini(e.map),
        "seconds": seconds,
        "peak_mb": peak / 2**20,
        "class_index": e.class_index,
    }


def evaluation_key(session: Session, method: Method, image: LoadedImage) -> str:
    s = session.settings
    return make_key(
        code=(__name__, method.module),
        kind="evaluation",
        method=method.name,
        params=options(method, s)[0],
        sanity_params=explainers([method], s)[0].params,
        **model_parts(session.classifier()),
        device=session.classifier().device_type,
        image=image.digest,
        evaluation=s.as_dict("evaluation") | {"methods": None, "images": None},
        road=[s.cams.road_percentiles, s.cams.remove_fraction],
        sanity=[s.sanity.within_blocks, s.sanity.seeds],
        seed=s.seed,
    )


def evaluate(session: Session, method: Method, image: LoadedImage) -> dict[str, Any]:
    """Every measure of one method on one image (cached)."""
    key = evaluation_key(session, method, image)
    return session.cache.get_or_compute("evaluation", key, lambda: ({}, _measure(session, method, image)))[1]


def identical_maps(
    session: Session, methods: list[Method], images: list[LoadedImage], atol: float = 1e-5
) -> list[tuple[list[str], float]]:
    """Groups of methods whose maps (each scaled to a largest absolute value of 1) agree within ``atol`` on every
    image, with the largest difference inside each group: methods that are the same method on this model (on a
    head of global average pooling and one linear layer, HiResCAM's and XGradCAM's maps equal Grad-CAM's). Reads
    the cached explanations."""

    def scaled(m: Method, image: LoadedImage) -> np.ndarray:
        a = np.asarray(explain(session, image, m).map, dtype=np.float64)
        top = np.abs(a).max()
        return a / top if top > 0 else a

    maps = {m.name: [scaled(m, im) for im in images] for m in methods}
    groups: list[list[str]] = []
    for name in maps:
        for g in groups:
            if all(np.abs(a - b).max() <= atol for a, b in zip(maps[g[0]], maps[name])):
                g.append(name)
                break
        else:
            groups.append([name])
    return [
        (g, max(float(np.abs(a - b).max()) for m in g[1:] for a, b in zip(maps[g[0]], maps[m])))
        for g in groups
        if len(g) > 1
    ]


def images_for(session: Session) -> list[LoadedImage]:
    """The first ``evaluation.images`` images (unset: all on a GPU, chapter 5's CPU count on a CPU)."""
    s = session.settings
    return session.images()[: image_count(s.evaluation.images, session.classifier().device_type)]


def run(session: Session) -> pd.DataFrame:
    """One row per method and image: the measures of :data:`MEASURES` (``randomized_rho`` the mean over seeds;
    per seed in ``rho_seed<i>`` columns)."""
    methods = session.methods(session.settings.evaluation.methods, "evaluation.methods")
    images = images_for(session)
    rows = []
    for method, image in progress.bar(
        [(m, im) for m in methods for im in images], desc="evaluating methods", unit="map"
    ):
        r = evaluate(session, method, image)
        row = {"method": method.name, "image": image.name, **{k: r[k] for k in MEASURES if k != "randomized_rho"}}
        row["randomized_rho"] = (
            float(np.nanmean(r["randomized_rho"])) if np.isfinite(r["randomized_rho"]).any() else np.nan
        )
        row.update({f"rho_seed{i}": v for i, v in enumerate(r["randomized_rho"])})
        row["randomized_block"] = r["randomized_block"]
        rows.append(row)
    return pd.DataFrame(rows)
