"""Explanations of any registered method, cached: one image (:func:`cached_explanation`) or a session's images
(:func:`explain_images`, what chapter 2, chapter 4 and ``xaireport cams``/``explain`` call).

The key of an explanation: the method's name and the values of the settings that change its map
(:attr:`Method.params`), the classifier (:func:`~xaireport.results.keys.model_parts`), the image's bytes, the
explained class, and the code: this module's import closure and the method's implementation module's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xaireport.core import progress
from xaireport.core.cache import ResultCache, make_key
from xaireport.images import LoadedImage
from xaireport.methods.explanations import Explanation
from xaireport.models.description import real
from xaireport.results.keys import AnyClassifier, model_parts

if TYPE_CHECKING:
    import numpy as np

    from xaireport.methods.registry import Method
    from xaireport.session import Session
    from xaireport.settings import Settings

KIND = "explanations"


def code_modules(method: Method) -> tuple[str, ...]:
    """The modules whose code is in the key of ``method``'s explanations (:func:`explanation_key`): this module and
    the method's implementation module, with everything of the package they import; the classifier's builder
    counts through :func:`~xaireport.results.keys.model_parts`."""
    return (__name__, method.module)


def explanation_key(
    classifier: AnyClassifier, image: LoadedImage, method: Method, params: dict[str, Any], target: int | None
) -> str:
    return make_key(
        code=code_modules(method),
        kind="explanation",
        method=method.name,
        params=params,
        **model_parts(classifier),
        image=image.digest,
        target=target,
    )


def cached_explanation(
    cache: ResultCache,
    classifier: AnyClassifier,
    image: LoadedImage,
    method: Method,
    params: dict[str, Any] | None = None,
    target: int | None = None,
    speed: dict[str, Any] | None = None,
    show_progress: bool = True,
) -> Explanation:
    """``method.explain`` of ``image``, cached. ``params``: the values of the method's :attr:`~Method.params`
    (in the key); ``speed``: its :attr:`~Method.speed` options (not in the key)."""
    params = dict(params or {})

    def compute() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        e = method.explain(real(classifier), image.array, target, progress=show_progress, **params, **(speed or {}))
        arrays = {"map": e.map, **{f"part/{k}": v for k, v in e.parts.items()}}
        meta = {
            "method": method.name,
            "class_index": e.class_index,
            "class_name": e.class_name,
            "score": e.score,
            "seconds": e.seconds,
            "signed": e.signed,
            "info": e.info,
            "device": str(real(classifier).device),
        }
        return arrays, meta

    key = explanation_key(classifier, image, method, params, target)
    arrays, meta = cache.get_or_compute(KIND, key, compute)
    return Explanation(
        method=method.name,
        map=arrays["map"],
        class_index=meta["class_index"],
        class_name=meta["class_name"],
        score=meta["score"],
        seconds=meta["seconds"],
        signed=meta["signed"],
        parts={k.removeprefix("part/"): v for k, v in arrays.items() if k.startswith("part/")},
        info=meta["info"],
    )


def options(method: Method, settings: Settings, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The method's (params, speed) keyword values from the settings (``overrides`` replace params by keyword)."""
    params = {k: settings.value(dotted) for k, dotted in method.params.items()}
    unknown = set(overrides) - set(params)
    if unknown:
        raise ValueError(f"{method.name} has no parameter {', '.join(sorted(unknown))}")
    params.update(overrides)
    return params, {k: settings.value(dotted) for k, dotted in method.speed.items()}


def explain(
    session: Session, image: LoadedImage, method: Method, target: int | None = None, **overrides: Any
) -> Explanation:
    """One cached explanation with the session's classifier and settings (``overrides``: params by keyword)."""
    params, speed = options(method, session.settings, **overrides)
    return cached_explanation(session.cache, session.classifier(), image, method, params, target, speed)


@dataclass
class ImageExplanations:
    """Every requested method's explanation of one image."""

    image: LoadedImage
    crop: np.ndarray
    results: dict[str, Explanation]

    @property
    def prediction(self) -> Explanation:
        return next(iter(self.results.values()))


def explain_images(
    session: Session,
    methods: list[Method],
    images: list[LoadedImage] | None = None,
    target: int | None = None,
    desc: str = "explanations",
) -> list[ImageExplanations]:
    """Every method on every image (the session's images unless given), cached."""
    clf = session.classifier()
    out = []
    for image in progress.bar(images if images is not None else session.images(), desc=desc, unit="image"):
        results = {m.name: explain(session, image, m, target) for m in methods}
        out.append(ImageExplanations(image, clf.crop(image.array), results))
    return out
