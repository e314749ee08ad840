"""The one registry of chapter 6's measures, in the style of Quantus' metric classes: each measure is a record that
says what it is — its name, its label, which direction is better, its category, the function that computes it and
the settings its value depends on — so that the tables, the ranks, the figure and the cache keys iterate the
registry and never list measures by hand.

A measure's function is named as ``"module:function"`` and imported when the measure first runs (this module imports
neither torch nor any measure's code). Two scopes:

* ``image``: ``function(ctx) -> float`` for one method and image, ``ctx`` an
  :class:`~xaireport.results.measures.ImageContext` (the classifier, the image, the method's explanation, and
  lazily shared work: the noisy explanations of max-sensitivity, whose timings are also the cost);
* ``method``: ``function(ctx) -> dict[image name, float]`` for one method over all images at once, ``ctx`` a
  :class:`~xaireport.results.measures.MethodContext` (chapter 5's randomization test needs the other images' maps
  for its null).

Your own measure: write the function, then :func:`register` a :class:`Measure` from a module named in the
``plugins`` setting; chapter 6 shows it in its tables, ranks and figure. CONTRIBUTING.md, "Adding a measure".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

#: The categories, in display order (Quantus' names, plus the cost of running the method).
CATEGORIES = {
    "faithfulness": "does the map find what the decision depends on?",
    "randomisation": "does the map depend on the model and the class?",
    "robustness": "is the map stable under small input noise?",
    "complexity": "is the map concise?",
    "cost": "what does one explanation cost?",
}


@dataclass(frozen=True)
class Measure:
    """One measure of an explanation method.

    Attributes:
        name: the column name (``road``).
        label: the heading in tables and figures, without the arrow (``ROAD``).
        better: ``"higher"`` or ``"lower"``.
        category: one of :data:`CATEGORIES`.
        function: ``"module:function"`` computing it (see the module docstring for the two scopes).
        settings: dotted settings its value depends on (part of its cache key).
        scope: ``"image"`` or ``"method"``.
        reference: the bibliography key of its paper.
        description: one sentence for the chapter's setup table.
    """

    name: str
    label: str
    better: str
    category: str
    function: str
    settings: tuple[str, ...] = ()
    scope: str = "image"
    reference: str = ""
    description: str = ""

    @property
    def arrow(self) -> str:
        return "↑" if self.better == "higher" else "↓"

    @property
    def title(self) -> str:
        """``ROAD ↑``: the label with the better direction."""
        return f"{self.label} {self.arrow}"

    @property
    def module(self) -> str:
        return self.function.split(":", 1)[0]

    def compute(self, ctx: Any) -> Any:
        module, attr = self.function.split(":", 1)
        return getattr(importlib.import_module(module), attr)(ctx)


#: name → :class:`Measure`, in display order.
MEASURES: dict[str, Measure] = {}


def register(measure: Measure) -> Measure:
    """Add a measure (a name registered again is replaced); a bad record is a ``ValueError``."""
    if measure.better not in ("higher", "lower"):
        raise ValueError(f"{measure.name}: better must be 'higher' or 'lower', got {measure.better!r}")
    if measure.category not in CATEGORIES:
        raise ValueError(f"{measure.name}: category {measure.category!r} is not one of {', '.join(CATEGORIES)}")
    if measure.scope not in ("image", "method"):
        raise ValueError(f"{measure.name}: scope must be 'image' or 'method', got {measure.scope!r}")
    if ":" not in measure.function:
        raise ValueError(f"{measure.name}: function must be 'module:function', got {measure.function!r}")
    MEASURES[measure.name] = measure
    return measure


def get(name: str) -> Measure:
    from xaireport.core.errors import UserError

    if name not in MEASURES:
        raise UserError(f"unknown measure {name!r}: choose from {', '.join(MEASURES)}")
    return MEASURES[name]


def names(category: str | None = None) -> list[str]:
    return [m.name for m in MEASURES.values() if category is None or m.category == category]


# --- The built-in measures -------------------------------------------------------------------------------------

_R = "xaireport.results.measures"
register(
    Measure(
        "road",
        "ROAD",
        "higher",
        "faithfulness",
        f"{_R}:road",
        ("cams.road_percentiles", "cams.remove_fraction", "seed"),
        reference="rong2022road",
        description="mean over removal fractions of (LeRF − MoRF) / 2, pixels imputed from their neighbours",
    )
)
register(
    Measure(
        "deletion",
        "deletion",
        "lower",
        "faithfulness",
        f"{_R}:deletion",
        ("evaluation.deletion_steps", "seed"),
        reference="petsiuk2018rise",
        description="area under the class probability as the most relevant pixels are set to the mean colour",
    )
)
register(
    Measure(
        "insertion",
        "insertion",
        "higher",
        "faithfulness",
        f"{_R}:insertion",
        ("evaluation.deletion_steps", "seed"),
        reference="petsiuk2018rise",
        description="area under the class probability as the most relevant pixels are copied into a blurred image",
    )
)
register(
    Measure(
        "randomization",
        "random ρ − null",
        "lower",
        "randomisation",
        f"{_R}:randomization",
        (
            "sanity.within_blocks",
            "sanity.seeds",
            "sanity.reference",
            "sanity.threshold",
            "sanity.lime_num_samples",
            "seed",
        ),
        scope="method",
        reference="adebayo2018sanity",
        description="chapter 5's test: ρ of the map after randomizing the top blocks with its trained map, minus "
        "the null of the other images (Fisher z, seeds averaged)",
    )
)
register(
    Measure(
        "random_logit",
        "other-class SSIM",
        "lower",
        "randomisation",
        f"{_R}:random_logit",
        ("seed",),
        reference="sixt2020explanations",
        description="SSIM of the map for the explained class and the map for a class drawn at random per image",
    )
)
register(
    Measure(
        "max_sensitivity",
        "max-sensitivity",
        "lower",
        "robustness",
        f"{_R}:max_sensitivity",
        ("evaluation.sensitivity_samples", "evaluation.sensitivity_radius", "seed"),
        reference="yeh2019infidelity",
        description="the largest relative change of the map under uniform noise on the model's input",
    )
)
register(
    Measure(
        "gini",
        "Gini",
        "higher",
        "complexity",
        f"{_R}:gini",
        reference="chalasani2020concise",
        description="Gini index of the map's absolute values (sparseness)",
    )
)
register(
    Measure(
        "seconds",
        "seconds",
        "lower",
        "cost",
        f"{_R}:seconds",
        ("evaluation.sensitivity_samples", "evaluation.sensitivity_radius", "seed"),
        description="median wall time of the method's fresh runs on the image, after a warm-up run",
    )
)
register(
    Measure(
        "peak_mb",
        "peak MB",
        "lower",
        "cost",
        f"{_R}:peak_mb",
        ("evaluation.sensitivity_samples", "evaluation.sensitivity_radius", "seed"),
        description="median of the runs' own peak memory above what the process held before each",
    )
)
