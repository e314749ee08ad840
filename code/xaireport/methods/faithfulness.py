"""Faithfulness of a saliency map: ROAD (Rong et al., 2022) with exact removal fractions.

Pixels are removed in order of the map's relevance and filled by the ``grad-cam`` package's noisy linear
imputation (a removed pixel is interpolated from its neighbours plus a little noise, so the model does not see
a sharp hole); the class's softmax probability is recorded before and after.

* ``road``: mean over removal fractions of (LeRF − MoRF) / 2: the probability change when the least relevant
  pixels are removed minus the change when the most relevant are removed. Higher is more faithful.
* ``drop``: the probability lost when the top ``remove_fraction`` of pixels by the map are removed
  (MoRF at one fraction). Higher means the map found pixels the decision depends on.

**Deviation from the package** (``pytorch_grad_cam.metrics.road``): the package removes the pixels with
``map ≥ percentile(map, p)``, so pixels with tied values all go or all stay: on a Grad-CAM map that is exactly
0 on 10.7 % of the image, "remove the 90 % most relevant" removes 100 %. Here each fraction removes exactly
``round(fraction × pixels)`` pixels, ranked by the map with a seeded random order among ties
(:func:`xaireport.methods.agreement.ranking`). On a map without ties the two remove the same pixels (tested),
up to one pixel where ``p·(N − 1)`` is an integer (``np.percentile`` then lands exactly on a value and the
package removes one pixel more).
Percentiles are the package's: percentile ``p`` removes the ``100 − p`` % most (MoRF) or least (LeRF)
relevant pixels.
"""

from __future__ import annotations

import numpy as np
import torch
from pytorch_grad_cam.metrics.perturbation_confidence import PerturbationConfidenceMetric
from pytorch_grad_cam.metrics.road import NoisyLinearImputer
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

from xaireport.methods.agreement import ranking
from xaireport.models import Classifier


def removal_mask(saliency: np.ndarray, fraction: float, most_relevant: bool, seed: int = 0) -> np.ndarray:
    """Boolean map of exactly ``round(fraction × pixels)`` pixels to remove: the most (or least) relevant by
    ``saliency``, ties in a random order seeded by ``seed``."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    order = ranking(saliency, seed)
    if not most_relevant:
        order = order[::-1]
    k = int(round(fraction * order.size))
    out = np.zeros(order.size, dtype=bool)
    out[order[:k]] = True
    return out.reshape(np.shape(saliency))


class ExactRemoval:
    """A ``grad-cam`` perturbation (as ``RemoveMostRelevantFirst``) that removes an exact number of pixels."""

    def __init__(self, fraction: float, most_relevant: bool, seed: int = 0):
        self.fraction, self.most_relevant, self.seed = fraction, most_relevant, seed
        self.imputer = NoisyLinearImputer()

    def __call__(self, input_tensor: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
        removed = removal_mask(cam.cpu().numpy(), self.fraction, self.most_relevant, self.seed)
        # The imputer's convention: 1 = keep, 0 = impute.
        return self.imputer(input_tensor, torch.from_numpy((~removed).astype(np.float32)))


def change(
    classifier: Classifier,
    x: torch.Tensor,
    cams: np.ndarray,
    targets: list,
    fraction: float,
    most_relevant: bool,
    seed: int,
) -> float:
    """Probability change after removing ``fraction`` of the pixels (the package's metric, our removal)."""
    torch.manual_seed(seed)  # the imputation's noise
    metric = PerturbationConfidenceMetric(ExactRemoval(fraction, most_relevant, seed))
    return float(metric(x, cams, targets, classifier.model)[0])


def scores(
    classifier: Classifier,
    crop: np.ndarray,
    heatmap: np.ndarray,
    class_index: int,
    *,
    percentiles: list[int],
    remove_fraction: float,
    seed: int = 0,
) -> dict[str, float]:
    """ROAD combined score over ``percentiles`` and the probability drop after removing the top
    ``remove_fraction`` of pixels. ``seed`` drives the tie-break and the imputation noise."""
    x = classifier.to_input(crop)
    targets = [ClassifierOutputSoftmaxTarget(class_index)]
    cams = heatmap[None].astype(np.float32)
    fractions = [(100 - p) / 100 for p in percentiles]
    morf = np.mean([change(classifier, x, cams, targets, f, True, seed) for f in fractions])
    lerf = np.mean([change(classifier, x, cams, targets, f, False, seed) for f in fractions])
    drop = -change(classifier, x, cams, targets, remove_fraction, True, seed)
    return {"road": float((lerf - morf) / 2), "drop": drop}
