"""The built-in measures of chapter 6 (registered in :mod:`xaireport.methods.measures`) and the contexts they are
computed in. A measure reads what it needs from its context; work two measures share (max-sensitivity's noisy
explanations, which are also the runs the cost is timed on) is done once per context, lazily.

The math is in :mod:`xaireport.methods.evaluation` (tested on hand-computed cases); here it meets the classifier,
the image, the cache and the settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from xaireport.images import LoadedImage
from xaireport.methods.explanations import Explanation
from xaireport.results.explanations import cached_explanation
from xaireport.results.faithfulness import cached_faithfulness

if TYPE_CHECKING:
    from xaireport.core.cache import ResultCache
    from xaireport.methods.registry import Method
    from xaireport.models import Classifier
    from xaireport.results.keys import AnyClassifier
    from xaireport.results.sanity import SanityRun
    from xaireport.settings import Settings


def image_seed(seed: int, image: LoadedImage, purpose: str) -> int:
    """A seed for one image and one purpose (the random-logit class, max-sensitivity's noise): the run's seed, the
    image's bytes and the purpose, so that every image gets its own draw and a run is reproducible."""
    return int.from_bytes(hashlib.sha256(f"{seed}|{image.digest}|{purpose}".encode()).digest()[:8], "little")


@dataclass
class FreshRun:
    """One fresh (never cached) explanation: its map, wall time and the memory it needed above what the process
    held (:func:`xaireport.core.memory.measure`)."""

    map: np.ndarray
    seconds: float
    peak_bytes: int


@dataclass
class ImageContext:
    """What a measure of one method on one image can read: plain values resolved once at the chapter's door."""

    settings: Settings
    cache: ResultCache
    lazy: AnyClassifier  # for cache keys (no network loaded when everything is cached)
    classifier: Classifier  # the network
    method: Method
    params: dict[str, Any]
    speed: dict[str, Any]
    image: LoadedImage
    explanation: Explanation  # the method's map of the model's top-1 class
    before_fresh: Callable[[], None] | None = field(default=None, repr=False)  # e.g. the method's warm-up
    _fresh: list[FreshRun] | None = field(default=None, repr=False)

    @property
    def crop(self) -> np.ndarray:
        return self.classifier.crop(self.image.array)

    def explain(self, target: int | None = None) -> Explanation:
        """The method's cached explanation of this image for ``target`` (default: the top-1 class)."""
        return cached_explanation(
            self.cache, self.lazy, self.image, self.method, self.params, target, self.speed, show_progress=False
        )

    def noise_scale(self) -> np.ndarray:
        """Max-sensitivity's noise radius per colour channel in grey levels: ``evaluation.sensitivity_radius`` in the
        model's normalised input units (as Quantus perturbs its ``x_batch``) times the channel's std × 255."""
        return self.settings.evaluation.sensitivity_radius * np.asarray(self.classifier.std) * 255.0

    def fresh_runs(self) -> list[FreshRun]:
        """``evaluation.sensitivity_samples`` fresh explanations of the model's input crop plus uniform noise of up to
        :meth:`noise_scale` (rounded to whole grey levels), each timed and its memory measured; shared by
        max-sensitivity and the cost. The crop is explained by a copy of the classifier whose resize is the crop
        size, so the noise reaches the model's input unchanged (no resize shrinks it)."""
        if self._fresh is None:
            from xaireport.core.memory import measure

            if self.before_fresh is not None:
                self.before_fresh()
            clf = input_sized(self.classifier)
            rng = np.random.default_rng(image_seed(self.settings.seed, self.image, "max-sensitivity"))
            crop, scale = self.crop.astype(np.float64), self.noise_scale()
            runs = []
            for _ in range(self.settings.evaluation.sensitivity_samples):
                noisy = np.clip(np.rint(crop + rng.uniform(-1.0, 1.0, crop.shape) * scale), 0, 255).astype(np.uint8)

                def run(img: np.ndarray = noisy) -> np.ndarray:
                    e = self.method.explain(
                        clf, img, self.explanation.class_index, progress=False, **self.params, **self.speed
                    )
                    return e.map

                out, seconds, peak = measure(run, self.classifier.device.type)
                runs.append(FreshRun(out, seconds, peak))
            self._fresh = runs
        return self._fresh


def input_sized(classifier: Classifier) -> Classifier:
    """The classifier with its resize set to its crop size: on an image already of the crop's size its
    preprocessing is the identity (no resize, no crop), so a perturbation of the crop is what the model sees."""
    return dataclasses.replace(classifier, resize_to=classifier.crop_size)


def warm_up(ctx: ImageContext) -> None:
    """One untimed run of the method on the image (its first call in a process pays for imports, graph builds
    and allocator growth, which are not the method's cost)."""
    ctx.method.explain(
        input_sized(ctx.classifier),
        ctx.crop,
        ctx.explanation.class_index,
        progress=False,
        **ctx.params,
        **ctx.speed,
    )


@dataclass
class MethodContext:
    """What a measure over all images of one method can read: the method, the images, and chapter 5's randomization
    run of every evaluated method (computed once, shared)."""

    settings: Settings
    method: Method
    images: list[LoadedImage]
    randomization_run: Any  # a callable returning the shared :class:`~xaireport.results.sanity.SanityRun`

    def sanity(self) -> SanityRun:
        return self.randomization_run()


# --- The measures ---------------------------------------------------------------------------------------------


def road(ctx: ImageContext) -> float:
    """ROAD (chapter 2's, cached with it): :func:`xaireport.methods.faithfulness.scores`."""
    c = ctx.settings.cams
    return cached_faithfulness(
        ctx.cache, ctx.lazy, ctx.image, ctx.explanation, c.road_percentiles, c.remove_fraction, ctx.settings.seed
    )["road"]


def _causal(ctx: ImageContext, mode: str) -> float:
    from xaireport.methods import evaluation as ev

    x = ctx.classifier.to_input(ctx.crop)
    return ev.causal_auc(
        ctx.classifier.model,
        x,
        ctx.explanation.map,
        ctx.explanation.class_index,
        mode,
        ctx.settings.evaluation.deletion_steps,
        ctx.settings.seed,
    )


def deletion(ctx: ImageContext) -> float:
    """RISE's deletion AUC (:func:`xaireport.methods.evaluation.causal_auc`)."""
    return _causal(ctx, "deletion")


def insertion(ctx: ImageContext) -> float:
    """RISE's insertion AUC (:func:`xaireport.methods.evaluation.causal_auc`)."""
    return _causal(ctx, "insertion")


def random_logit(ctx: ImageContext) -> float:
    """SSIM of the map for the explained class and the (cached) map for a class drawn for this image."""
    from xaireport.methods import evaluation as ev

    other = ev.other_class(
        ctx.explanation.class_index,
        len(ctx.classifier.categories),
        image_seed(ctx.settings.seed, ctx.image, "random-logit"),
    )
    return ev.random_logit_similarity(ctx.explanation.map, ctx.explain(other).map)


def max_sensitivity(ctx: ImageContext) -> float:
    """Max-sensitivity over :meth:`ImageContext.fresh_runs`, Φ(x) the cached map (Quantus' ``a_batch``)."""
    from xaireport.methods import evaluation as ev

    return ev.max_sensitivity([r.map for r in ctx.fresh_runs()], ctx.explanation.map)


def gini(ctx: ImageContext) -> float:
    from xaireport.methods import evaluation as ev

    return ev.gini(ctx.explanation.map)


def seconds(ctx: ImageContext) -> float:
    """The median wall time of :meth:`ImageContext.fresh_runs`."""
    return float(np.median([r.seconds for r in ctx.fresh_runs()]))


def peak_mb(ctx: ImageContext) -> float:
    """The median over :meth:`ImageContext.fresh_runs` of each run's own peak memory, in MB."""
    return float(np.median([r.peak_bytes for r in ctx.fresh_runs()])) / 2**20


def randomization(ctx: MethodContext) -> dict[str, float]:
    """Chapter 5's test (:func:`xaireport.results.sanity.differences`) per image: ρ of the randomized map with the
    trained map minus the null of the other images, Fisher z, seeds averaged."""
    from xaireport.results.sanity import differences

    return differences(ctx.sanity(), ctx.method.name, ctx.settings.sanity)
