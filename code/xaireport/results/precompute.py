"""``xaireport precompute``: every cached result a render of a profile needs, computed before the render — serially
or as independent tasks on a Ray cluster — so that ``quarto render`` only reads the cache (issue 36).

The result cache is content-addressed: a result's key says everything it depends on, so a task computed anywhere
that can write the cache folder is the result the render looks up. The work is listed as :class:`Task` records,
each named by the cache entries it writes (kind and key), in two stages:

1. per image, the trained model's explanations every chapter shows (chapter 2's CAMs and chapter 4's Grad-CAM,
   chapter 3's LIME with each stability seed, chapter 5's and 6's methods with their settings); and per randomized
   network (seed, cascade step) of chapters 5 and 6, every method's explanation of every image it is needed for
   (:func:`xaireport.results.sanity.plan`) — one network built once per task;
2. per image, chapter 2's ROAD scores (keyed by the maps of stage 1); per method and image, chapter 6's measures.

A task whose entries all exist is skipped. After the tasks, one serial pass calls each chapter's cached computation
(:func:`finish`): it reads what the tasks wrote and computes only the whole-run records (chapter 5's run, chapter 6's
table, chapter 1's dissection), so the render that follows writes no new entry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xaireport.session import Session


@dataclass(frozen=True)
class Task:
    """One independent piece of work: ``function(session, **args)`` of this module, which writes ``entries``."""

    stage: int
    name: str  # for progress lines and errors: "cams coffee.png", "sanity cascade seed 1 step 2"
    function: str
    args: tuple[tuple[str, Any], ...]
    entries: tuple[tuple[str, str], ...] = field(default=())  # (kind, key) of every cache entry it writes

    def done(self, cache_root) -> bool:
        """Every entry it writes exists (an entry it could not name in advance makes it never done)."""
        from pathlib import Path

        return bool(self.entries) and all((Path(cache_root) / k / f"{key}.npz").is_file() for k, key in self.entries)

    def run(self, session: Session) -> None:
        getattr(importlib.import_module(__name__), self.function)(session, **dict(self.args))


# --- What the tasks do (module-level functions: a Ray worker imports them by name) ---------------------------


def explain_image(session: Session, image: str, wanted: list[list[Any]]) -> None:
    """The explanations of one image: ``wanted`` = [[method, {param overrides}], ...] (cached)."""
    from xaireport.results.explanations import explain

    im = _image(session, image)
    for name, overrides in wanted:
        explain(session, im, session.method(name), **overrides)


def sanity_network(session: Session, mode: str, seed: int, step: int, images: list[str], methods: list[str]) -> None:
    """One randomized network of chapters 5 and 6 (``mode`` cascade or independent, down to / only block
    ``step``), built once, explaining each of ``images`` with each of ``methods`` (chapter 5's explainer settings)
    for the trained model's top-1 class."""
    from xaireport.methods.sanity import blocks, randomize
    from xaireport.models.description import real
    from xaireport.results.sanity import explainers

    clf = real(session.classifier())
    block = blocks(clf)[step - 1].name
    rclf = randomize(clf, upto=block, seed=seed) if mode == "cascade" else randomize(clf, only=block, seed=seed)
    runs = explainers([session.method(m) for m in methods], session.settings)
    for name in images:
        im = _image(session, name)
        target = int(clf.probabilities(im.array).argmax())
        for r in runs:
            r(session.cache, rclf, im, target)


def road_image(session: Session, image: str, methods: list[str]) -> None:
    """Chapter 2's ROAD scores of one image's maps (``cams.methods``)."""
    from xaireport.results.explanations import explain
    from xaireport.results.faithfulness import cached_faithfulness

    s = session.settings
    im = _image(session, image)
    for name in methods:
        e = explain(session, im, session.method(name))
        c = s.cams
        cached_faithfulness(session.cache, session.classifier(), im, e, c.road_percentiles, c.remove_fraction, s.seed)


_WARMED: set[str] = set()  # methods warmed up in this process (a worker keeps its set across tasks)


def evaluate(session: Session, method: str, image: str, measures: list[str]) -> None:
    """Chapter 6's image measures named in ``measures`` of one method on one image."""
    from xaireport.methods.measures import MEASURES
    from xaireport.results.evaluation import image_values
    from xaireport.results.explanations import explain

    m, im = session.method(method), _image(session, image)
    image_values(session, m, im, explain(session, im, m), [MEASURES[x] for x in measures], _WARMED)


def _image(session: Session, name: str):
    return next(im for im in session.images() if im.name == name)


# --- The plan ---------------------------------------------------------------------------------------------


def _evaluated(session: Session) -> list[str]:
    from xaireport.methods.registry import names

    return list(session.settings.evaluation.methods or names())


def stage_one(session: Session) -> list[Task]:
    """Trained explanations per image, and the randomized networks of chapters 5 and 6."""
    from xaireport.models.description import real
    from xaireport.results.explanations import explanation_key, options
    from xaireport.results.sanity import explainers, plan, seed_list

    s = session.settings
    images = session.images()
    lazy = session.classifier()
    lime_seeds = [s.seed + i for i in range(max(1, s.lime.stability_seeds))]
    sanity_methods, evaluated = list(s.sanity.methods), _evaluated(session)
    tasks = []
    for im in images:
        wanted: list[list[Any]] = [[m, {}] for m in dict.fromkeys(["gradcam", *s.cams.methods, *evaluated])]
        wanted += [["lime", {"seed": sd}] for sd in lime_seeds]  # chapter 3: every stability seed
        for r in explainers([session.method(m) for m in sanity_methods], s):
            wanted.append([r.method.name, {k: v for k, v in r.params.items() if k == "num_samples"}])
        keyed: dict[str, list[Any]] = {}  # one explanation per cache key (the same map asked twice is run once)
        for name, overrides in wanted:
            params = options(session.method(name), s, **overrides)[0]
            keyed.setdefault(explanation_key(lazy, im, session.method(name), params, None), [name, overrides])
        tasks.append(Task(1, f"explanations {im.name}", "explain_image",
                          (("image", im.name), ("wanted", list(keyed.values()))),
                          tuple(("explanations", k) for k in keyed)))  # fmt: skip
    clf = real(lazy)
    from xaireport.methods.sanity import blocks, random_weights_id

    order = blocks(clf)
    seeds = seed_list(s.seed, s.sanity.seeds)
    targets = {im.name: int(clf.probabilities(im.array).argmax()) for im in images}
    networks: dict[tuple[str, int, int], dict[str, set[str]]] = {}
    chapter5 = plan(order, len(images[: s.sanity.images]), seeds, s.sanity.within_blocks, s.sanity.cascade_images,
                    s.sanity.independent)  # fmt: skip
    for mode, seed, step, positions in chapter5.steps:
        net = networks.setdefault((mode, seed, step), {})
        for i in positions:
            net.setdefault(images[i].name, set()).update(sanity_methods)
    chapter6 = plan(order, len(images[: s.evaluation.images]), seeds, s.sanity.within_blocks, 0, False)
    for mode, seed, step, positions in chapter6.steps:
        net = networks.setdefault((mode, seed, step), {})
        for i in positions:
            net.setdefault(images[i].name, set()).update(evaluated)
    for (mode, seed, step), by_image in networks.items():
        methods = sorted({m for ms in by_image.values() for m in ms})
        runs = {r.method.name: r for r in explainers([session.method(m) for m in methods], s)}
        chosen = [b.name for b in order[:step]] if mode == "cascade" else [order[step - 1].name]
        upto = order[step - 1].name if mode == "cascade" else None
        weights = random_weights_id(lazy.weights_id, chosen, upto, seed)
        proxy: Any = _Renamed(lazy, weights)
        network_entries = tuple(
            ("explanations", explanation_key(proxy, im, runs[m].method, runs[m].params, targets[im.name]))
            for im in images
            if im.name in by_image
            for m in sorted(by_image[im.name])
        )
        for_all = sorted(by_image)
        tasks.append(
            Task(
                1,
                f"sanity {mode} seed {seed} step {step}",
                "sanity_network",
                (("mode", mode), ("seed", seed), ("step", step), ("images", for_all), ("methods", methods)),
                network_entries,
            )  # fmt: skip
        )
    return tasks


class _Renamed:
    """A classifier description with another ``weights_id`` (a randomized network's, for its cache keys)."""

    def __init__(self, base: Any, weights_id: str):
        self._base, self.weights_id = base, weights_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


def stage_two(session: Session, costs: bool = True) -> list[Task]:
    """ROAD per image (its keys need stage one's maps), chapter 6's measures per method and image (``costs``
    false: without the cost measures, which :func:`finish` then times one at a time)."""
    from xaireport.results.evaluation import group_members, identical_maps, image_measures, measure_key
    from xaireport.results.explanations import explain
    from xaireport.results.faithfulness import faithfulness_key

    s = session.settings
    images = session.images()
    lazy = session.classifier()
    tasks = []
    for im in images:
        entries = []
        for name in s.cams.methods:
            e = explain(session, im, session.method(name))
            entries.append(("faithfulness", faithfulness_key(lazy, im, e, s.cams.road_percentiles,
                                                            s.cams.remove_fraction, s.seed)))  # fmt: skip
        tasks.append(Task(2, f"ROAD {im.name}", "road_image", (("image", im.name), ("methods", list(s.cams.methods))),
                          tuple(entries)))  # fmt: skip
    evaluated = _evaluated(session)
    chosen = images[: s.evaluation.images]
    maps = {m: [explain(session, im, session.method(m)).map for im in chosen] for m in evaluated}
    members = group_members(evaluated, identical_maps(maps))
    for m in evaluated:
        method = session.method(m)
        measures = [me for me in image_measures(cost_only=m not in members) if costs or me.category != "cost"]
        if not measures:
            continue
        for im in chosen:
            keys = tuple(("evaluation", measure_key(session, method, im, me)) for me in measures)
            tasks.append(Task(2, f"measures {m} {im.name}", "evaluate",
                              (("method", m), ("image", im.name), ("measures", [me.name for me in measures])),
                              keys))  # fmt: skip
    return tasks


def finish(session: Session, progress: Callable[[str], None] = lambda _: None) -> None:
    """The serial pass after the tasks: the whole-run records, which read what the tasks wrote (chapter 1's
    dissection, whose work is the probe set's forward passes, runs here as a whole; chapter 6's cost measures, when
    the tasks left them out, are timed here one method at a time)."""
    from xaireport.results import dissection, evaluation, sanity

    s = session.settings
    if s.dissection.enabled and not dissection.missing_inputs(s):
        progress("chapter 1: network dissection")
        dissection.run(session)
    progress("chapter 5: the sanity run")
    sanity.run(session)
    progress("chapter 6: the evaluation table")
    evaluation.run(session)


def plan_stage(session: Session, stage: int, costs: bool = True) -> list[Task]:
    """Stage 1's or stage 2's tasks (stage 2's are planned once stage 1's maps exist). ``costs`` false (a cluster,
    whose workers share machines): chapter 6's cost measures are left to :func:`finish`, which times each method
    alone, so that a time or a memory peak measures the method and not its neighbours."""
    return stage_one(session) if stage == 1 else stage_two(session, costs)
