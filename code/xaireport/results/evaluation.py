"""Chapter 6's computation: every registered measure (:mod:`xaireport.methods.measures`) of every evaluated method
on every image, cached one value per method, image and measure (adding a method or a measure computes just that).

* The methods' explanations go through the explanation cache, so chapter 2's CAMs, chapter 3's LIME and chapter 5's
  randomized maps are reused, not recomputed.
* **Methods that are the same method here** — maps equal within :data:`IDENTICAL_ATOL` on every image (on a head
  of global average pooling and one linear layer, HiResCAM's and XGradCAM's maps are Grad-CAM's) — are evaluated
  once: one row, labelled with every name (``Grad-CAM = HiResCAM = XGradCAM``), with the first one's values for
  every measure of the map; the cost is measured for each and averaged per image. So they share every value and
  every rank, and the rankings do not count one method three times.
* The randomization measure is chapter 5's test, run for every evaluated method with chapter 5's settings (the
  verdict step, its seeds, its null): :func:`xaireport.results.sanity.run` with ``figures=False``, whose
  randomized networks are built once per seed and explain every method and image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xaireport.core import progress
from xaireport.core.cache import make_key
from xaireport.images import LoadedImage
from xaireport.methods import measures as measure_registry
from xaireport.methods.explanations import Explanation
from xaireport.models.description import real
from xaireport.results.explanations import explain, options
from xaireport.results.keys import model_parts

if TYPE_CHECKING:
    from xaireport.methods.measures import Measure
    from xaireport.methods.registry import Method
    from xaireport.results.measures import ImageContext
    from xaireport.results.sanity import SanityRun, Verdict
    from xaireport.session import Session

#: Two methods are the same method on this model when their maps, each scaled to a largest absolute value of 1,
#: differ by at most this on every image.
IDENTICAL_ATOL = 1e-5


def measure_key(session: Session, method: Method, image: LoadedImage, measure: Measure) -> str:
    s = session.settings
    lazy = session.classifier()
    return make_key(
        code=(__name__, measure.module, method.module),
        kind="measure",
        measure=measure.name,
        method=method.name,
        params=options(method, s)[0],
        **model_parts(lazy),
        device=lazy.device_type,
        image=image.digest,
        settings={k: s.value(k) for k in measure.settings},
    )


def identical_maps(maps: dict[str, list[np.ndarray]], atol: float = IDENTICAL_ATOL) -> list[tuple[list[str], float]]:
    """Groups (in the given order) of methods whose maps (``maps``: method → one map per image), each scaled to a
    largest absolute value of 1, agree within ``atol`` on every image, with the largest difference inside each
    group; methods alone in their group are left out."""

    def scaled(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        top = np.abs(a).max()
        return a / top if top > 0 else a

    s = {m: [scaled(a) for a in v] for m, v in maps.items()}
    groups: list[list[str]] = []
    for name in s:
        for g in groups:
            if all(np.abs(a - b).max() <= atol for a, b in zip(s[g[0]], s[name])):
                g.append(name)
                break
        else:
            groups.append([name])
    return [
        (g, max(float(np.abs(a - b).max()) for m in g[1:] for a, b in zip(s[g[0]], s[m]))) for g in groups if len(g) > 1
    ]


@dataclass
class EvaluationRun:
    """Every measure of every evaluated method (one row per method, or group of identical methods, and image)."""

    table: pd.DataFrame  # columns: method (the row's first member), image, one per measure
    methods: list[str]  # the rows' methods, in evaluation order
    labels: dict[str, str]  # row method → its label (the members' labels joined by " = ")
    members: dict[str, list[str]]  # row method → the evaluated methods it stands for
    identical: list[tuple[list[str], float]]  # the groups of identical methods, with the largest difference
    measures: list[str]  # measure names, in registry order
    verdicts: dict[str, Verdict]  # row method → chapter 5's verdict for it
    images: list[str]

    def values(self, measure: str) -> pd.DataFrame:
        """One row per image, one column per row method: the per-image values of ``measure``."""
        return self.table.pivot(index="image", columns="method", values=measure)[self.methods]


def image_measures(cost_only: bool = False) -> list[Measure]:
    """The image-scope measures, in registry order (``cost_only``: the cost measures only)."""
    return [
        m for m in measure_registry.MEASURES.values() if m.scope == "image" and (not cost_only or m.category == "cost")
    ]


def group_members(methods: list[str], identical: list[tuple[list[str], float]]) -> dict[str, list[str]]:
    """Row method (a group's first member) → the evaluated methods it stands for, in evaluation order."""
    members: dict[str, list[str]] = {}
    for name in methods:
        group = next((g for g, _ in identical if name in g), [name])
        members.setdefault(group[0], []).append(name)
    return members


def image_values(
    session: Session,
    method: Method,
    image: LoadedImage,
    explanation: Explanation,
    measures: list[Measure],
    warmed: set[str],
) -> dict[str, float]:
    """The cached value of each of ``measures`` for one method and image (computed when missing, in one context:
    max-sensitivity's fresh runs serve the cost too). ``warmed``: the methods already warmed up in this process
    (the first fresh run of a method in a process is not timed)."""
    from xaireport.results.measures import ImageContext, warm_up

    s = session.settings
    shared: dict[str, ImageContext] = {}

    def context() -> ImageContext:
        if "ctx" not in shared:
            params, speed = options(method, s)
            lazy = session.classifier()
            ctx = ImageContext(s, session.cache, lazy, real(lazy), method, params, speed, image, explanation)

            def before_fresh() -> None:
                if method.name not in warmed:
                    warm_up(ctx)
                    warmed.add(method.name)

            ctx.before_fresh = before_fresh
            shared["ctx"] = ctx
        return shared["ctx"]

    out = {}
    for me in measures:

        def compute(me: Measure = me) -> tuple[dict, dict[str, Any]]:
            return {}, {"value": float(me.compute(context()))}

        key = measure_key(session, method, image, me)
        out[me.name] = session.cache.get_or_compute("evaluation", key, compute)[1]["value"]
    return out


def run(session: Session) -> EvaluationRun:
    """Chapter 6 with the session's settings: ``evaluation.methods`` (unset: every registered method, plug-ins
    included) on the first ``evaluation.images`` images (unset: all)."""
    from xaireport.methods.registry import label, names
    from xaireport.results.measures import MethodContext
    from xaireport.results.sanity import run as sanity_run
    from xaireport.results.sanity import verdicts

    s = session.settings
    methods = session.methods(s.evaluation.methods or names(), "evaluation.methods")
    images = session.images()[: s.evaluation.images]
    explanations: dict[tuple[str, str], Explanation] = {}
    for m, im in progress.bar([(m, im) for m in methods for im in images], desc="explanations", unit="map"):
        explanations[m.name, im.name] = explain(session, im, m)
    identical = identical_maps({m.name: [explanations[m.name, im.name].map for im in images] for m in methods})
    members = group_members([m.name for m in methods], identical)
    row_methods = list(members)

    warmed: set[str] = set()
    values: dict[tuple[str, str, str], float] = {}
    jobs = [(m, im) for m in methods for im in images]
    for m, im in progress.bar(jobs, desc="evaluating methods", unit="map"):
        chosen = image_measures(cost_only=m.name not in members)  # a group's other members: only their own cost
        for name, v in image_values(session, m, im, explanations[m.name, im.name], chosen, warmed).items():
            values[m.name, im.name, name] = v

    shared: dict[str, SanityRun] = {}

    def randomization_run() -> SanityRun:
        if "run" not in shared:
            shared["run"] = sanity_run(session, methods=methods, images=images, figures=False)
        return shared["run"]

    for me in (x for x in measure_registry.MEASURES.values() if x.scope == "method"):
        for m in methods:
            if m.name not in members:
                continue
            per_image = me.compute(MethodContext(s, m, images, randomization_run))
            for im in images:
                values[m.name, im.name, me.name] = float(per_image.get(im.name, np.nan))

    measure_names = list(measure_registry.MEASURES)
    rows = []
    for rep in row_methods:
        for im in images:
            row: dict[str, Any] = {"method": rep, "image": im.name}
            for me in measure_registry.MEASURES.values():
                if me.category == "cost":
                    row[me.name] = float(np.mean([values[x, im.name, me.name] for x in members[rep]]))
                else:
                    row[me.name] = values[rep, im.name, me.name]
            rows.append(row)
    table = pd.DataFrame(rows, columns=["method", "image", *measure_names])
    randomized = {v.method: v for v in verdicts(randomization_run(), s.sanity)} if row_methods else {}
    return EvaluationRun(
        table,
        row_methods,
        {rep: " = ".join(label(x) for x in members[rep]) for rep in row_methods},
        members,
        identical,
        measure_names,
        {rep: randomized[rep] for rep in row_methods if rep in randomized},
        [im.name for im in images],
    )
