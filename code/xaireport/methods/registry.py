"""The one registry of explanation methods: every chapter, the CLI's ``--methods``, the settings check, chapter 4's
agreement matrix and chapter 5's sanity checks read it.

A method is one :class:`Method` record here (name, label, family, what it supports, what it costs, which settings
change its map) and one implementation module with

    def explain(classifier, image, target=None, *, progress=True, **params) -> Explanation

(:class:`~xaireport.methods.explanations.Explanation`, the one result type). The module is imported by name
when the method first runs, so this registry imports neither torch nor any method's code: ``xaireport --help``,
the settings check and a page whose explanations are all cached stay light. The result cache keys each
explanation by its implementation module's import closure (:mod:`xaireport.core.codegraph`), so adding or editing
one method recomputes that method only.

Your own method: write the module, then :func:`register` it from a module named in the ``plugins`` setting (or
import it before the run). See CONTRIBUTING.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xaireport.core.errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from xaireport.methods.explanations import Explanation
    from xaireport.models import Classifier

#: The families, in display order: what the method looks at.
FAMILIES = {
    "CAM": "weights the target layer's feature maps",
    "perturbation": "changes the input and watches the output",
    "gradient": "back-propagates the class score to the pixels",
}


@dataclass(frozen=True)
class Method:
    """One explanation method.

    Attributes:
        name: the name in settings and on the command line (``gradcam``).
        label: the name in figures and tables (``Grad-CAM``).
        family: one of :data:`FAMILIES`.
        module: the implementation module (its ``explain`` — or the function named by ``function`` — returns an
            :class:`Explanation`).
        supports: architectures it runs on: ``cnn`` and/or ``vit`` (ViT and Swin through the classifier's
            token-to-grid reshape).
        cost: what one explanation costs, in passes through the network.
        signed: its maps keep signs (negative = evidence against the class).
        params: keyword → dotted setting whose value changes the map; part of every cache key.
        speed: keyword → dotted setting that changes only the speed (batch sizes); not in the key.
        notes: choices the implementation fixes (not settings), for setup tables.
        reference: the bibliography key of its paper.
        function: the function of ``module`` that explains (several methods can share one module).
    """

    name: str
    label: str
    family: str
    module: str
    supports: frozenset[str] = frozenset({"cnn", "vit"})
    cost: str = ""
    signed: bool = False
    params: Mapping[str, str] = field(default_factory=dict)
    speed: Mapping[str, str] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)
    reference: str = ""
    function: str = "explain"

    def explain(
        self,
        classifier: Classifier,
        image: np.ndarray,
        target: int | None = None,
        *,
        progress: bool = True,
        **options: Any,
    ) -> Explanation:
        """Run the method: ``options`` are its :attr:`params` and :attr:`speed` keywords."""
        implementation = getattr(importlib.import_module(self.module), self.function)
        return implementation(classifier, image, target, progress=progress, **options)


#: name → :class:`Method`, in display order.
METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add a method (a name registered again is replaced)."""
    if method.family not in FAMILIES:
        raise ValueError(f"{method.name}: family {method.family!r} is not one of {', '.join(FAMILIES)}")
    if not method.supports or not method.supports <= {"cnn", "vit"}:
        raise ValueError(f"{method.name}: supports must name cnn and/or vit, got {sorted(method.supports)}")
    METHODS[method.name] = method
    return method


def get(name: str, where: str = "the method name") -> Method:
    """The method called ``name``; an unknown name is a :class:`UserError` listing the choices."""
    check([name], where)
    return METHODS[name]


def names(family: str | None = None) -> list[str]:
    return [m.name for m in METHODS.values() if family is None or m.family == family]


def label(name: str) -> str:
    """The display label of a method (the name itself for one that is not registered)."""
    m = METHODS.get(name)
    return m.label if m else name


def check(methods: list[str], where: str = "cams.methods", family: str | None = None) -> None:
    """Raises :class:`UserError` naming unknown method names (or ones of another family) and the choices."""
    choices = names(family)
    unknown = [m for m in methods if m not in choices]
    if unknown:
        bad = ", ".join(repr(m) for m in unknown)
        kind = f"{family} method" if family else "method"
        raise UserError(f"unknown {kind} {bad} in {where}: choose from {', '.join(choices)}")


def explain(
    classifier: Classifier,
    image: np.ndarray,
    method: str,
    target: int | None = None,
    *,
    progress: bool = True,
    **options: Any,
) -> Explanation:
    """Explain ``classifier``'s decision on ``image`` (RGB uint8, any size; explained as ``classifier.crop(image)``)
    with the registered method called ``method``: one call for every method (not cached; the report caches
    through :mod:`xaireport.results.explanations`)."""
    return get(method, "the method argument").explain(classifier, image, target, progress=progress, **options)


def load_plugins(modules: list[str]) -> None:
    """Import each module (it registers its methods); one that cannot be imported is a :class:`UserError`."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise UserError(
                f"plugin module {name!r} cannot be imported ({exc}): put it on PYTHONPATH or fix the plugins setting"
            ) from None


# --- The built-in methods -----------------------------------------------------------------------------------

_CAMS = "xaireport.methods.cams"

register(
    Method(
        "gradcam",
        "Grad-CAM",
        "CAM",
        f"{_CAMS}.gradcam",
        cost="1 forward + 1 backward pass",
        reference="selvaraju2017gradcam",
    )
)
register(
    Method(
        "ablationcam",
        "AblationCAM",
        "CAM",
        f"{_CAMS}.ablationcam",
        cost="1 forward pass + 1 head pass per channel",
        speed={"batch_size": "cams.ablation_batch_size"},
        reference="desai2020ablationcam",
    )
)
register(
    Method(
        "scorecam",
        "ScoreCAM",
        "CAM",
        f"{_CAMS}.scorecam",
        cost="1 forward pass per channel",
        speed={"batch_size": "cams.batch_size"},
        reference="wang2020scorecam",
    )
)
for _name, _label, _cost, _ref in (
    ("gradcampp", "GradCAM++", "1 forward + 1 backward pass", "chattopadhay2018gradcampp"),
    ("xgradcam", "XGradCAM", "1 forward + 1 backward pass", "fu2020xgradcam"),
    ("hirescam", "HiResCAM", "1 forward + 1 backward pass", "draelos2020hirescam"),
    ("layercam", "LayerCAM", "1 forward + 1 backward pass", "jiang2021layercam"),
    ("eigencam", "EigenCAM", "1 forward pass (no gradient, no class)", "muhammad2020eigencam"),
):
    register(Method(_name, _label, "CAM", f"{_CAMS}.library", cost=_cost, reference=_ref, function=_name))
register(
    Method(
        "lime",
        "LIME",
        "perturbation",
        "xaireport.methods.lime",
        cost="num_samples forward passes",
        signed=True,
        params={"num_samples": "lime.num_samples", "num_features": "lime.num_features", "seed": "seed"},
        speed={"batch_size": "lime.batch_size"},
        notes={
            "segmentation": "quickshift(kernel_size=4, max_dist=200, ratio=0.2)",  # lime's default
            "hide_color": "0 (black)",
            "kernel width": "0.25 (lime's default)",
        },
        reference="ribeiro2016lime",
    )
)

_ATTR = "xaireport.methods.attributions"
_BASELINE = {"baseline": "attributions.baseline"}
_BATCH = {"batch_size": "attributions.batch_size"}
register(Method("saliency", "Saliency", "gradient", _ATTR, cost="1 forward + 1 backward pass",
                reference="simonyan2014saliency", function="saliency"))  # fmt: skip
register(
    Method(
        "integrated_gradients",
        "Integrated Gradients",
        "gradient",
        _ATTR,
        cost="ig_steps forward + backward passes",
        signed=True,
        params={"steps": "attributions.ig_steps", **_BASELINE},
        speed=_BATCH,
        reference="sundararajan2017ig",
        function="integrated_gradients",
    )
)
register(
    Method(
        "gradient_shap",
        "GradientSHAP",
        "gradient",
        _ATTR,
        cost="shap_samples forward + backward passes",
        signed=True,
        params={"samples": "attributions.shap_samples", "stdev": "attributions.shap_stdev", "seed": "seed"},
        notes={"baselines": "the black and the mean-colour image"},
        reference="lundberg2017shap",
        function="gradient_shap",
    )
)
register(
    Method(
        "guided_backprop",
        "Guided Backprop",
        "gradient",
        _ATTR,
        supports=frozenset({"cnn"}),
        cost="1 forward + 1 backward pass",
        notes={
            "activations": "nn.ReLU and nn.ReLU6 (Captum: nn.ReLU only)",
            "channels": "sum of absolute values (Adebayo et al. 2018)",
        },
        reference="springenberg2015guided",
        function="guided_backprop",
    )
)
register(
    Method(
        "occlusion",
        "Occlusion",
        "perturbation",
        _ATTR,
        cost="1 forward pass per window position",
        signed=True,
        params={
            "window": "attributions.occlusion_window",
            "stride": "attributions.occlusion_stride",
            **_BASELINE,
        },
        speed=_BATCH,
        reference="zeiler2014occlusion",
        function="occlusion",
    )
)
