"""How a map is shown: one display rule per method family, used by every figure of a map (the chapters, the home
page, ``xaireport explain``'s pictures). Pure numpy, below the report and the command line, which both draw with
it (issue 37)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from xaireport.methods.explanations import Explanation
    from xaireport.methods.registry import Method

#: How each family of :data:`xaireport.methods.registry.FAMILIES` scales its maps for display, the one rule every
#: figure of a map follows (the HTML and the PDF show the same PNG):
#:
#: * ``"own"``: a CAM as the method scaled it, in [0, 1] with 1 at its largest value (smooth, dense maps);
#: * ``"outliers"``: gradient and perturbation maps, whose few extreme pixels would take the whole scale if it
#:   ended at the maximum: the positive part (evidence for the class), divided by the value above which the largest
#:   values hold ``display.outlier_percent`` % of the map's positive total and clipped to [0, 1], as Captum's
#:   ``visualize_image_attr(sign="positive", outlier_perc=...)`` normalises (equal to it, tested).
SCALING = {"CAM": "own", "gradient": "outliers", "perturbation": "outliers"}


def outlier_threshold(values: np.ndarray, percent: float) -> float:
    """The scale of a non-negative map with ``percent`` % of its total set aside as outliers: the smallest of the
    sorted values at which their cumulative sum reaches ``100 - percent`` % of the total (Captum's
    ``_cumulative_sum_threshold(values, 100 - percent)``). ``percent = 0`` gives the maximum."""
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    total = np.cumsum(v)
    return float(v[int(np.argmax(total >= total[-1] * 0.01 * (100.0 - percent)))])


def displayed(m: np.ndarray | Explanation, method: Method, outlier_percent: float) -> np.ndarray:
    """A method's map as the figures draw it: float32 in [0, 1], scaled by the rule of the method's family
    (:data:`SCALING`).

    Args:
        m: the map (float, at the model's input resolution), or an :class:`Explanation` (its ``map``).
        method: the method's registry record (its ``family`` picks the rule, ``signed`` says whether the map has
            negative values).
        outlier_percent: the ``display.outlier_percent`` setting (gradient and perturbation maps).

    Returns:
        The displayed array, same shape as the map. A map with no positive value is all zeros. A signed CAM (none is
        built in) is scaled to its positive maximum.
    """
    from xaireport.methods.explanations import Explanation

    a = np.asarray(m.map if isinstance(m, Explanation) else m, dtype=np.float64)
    pos = np.clip(np.nan_to_num(a), 0, None)
    top = pos.max() if pos.size else 0.0
    if top <= 0:
        return np.zeros(a.shape, np.float32)
    rule = SCALING[method.family]
    if rule == "own":
        scale = top if method.signed or top > 1 else 1.0
    else:
        scale = outlier_threshold(pos, outlier_percent)
    return np.clip(pos / scale, 0, 1).astype(np.float32)
