"""Faithfulness of a saliency map, measured with the ``grad-cam`` package's ROAD metrics (Rong et al., 2022).

Both measures use ROAD's noisy linear imputation to remove pixels (a removed pixel is filled from its
neighbours, so the model does not see a sharp hole), and the class's softmax probability:

* ``road``: ROADCombined = mean over percentiles of (LeRF − MoRF) / 2: the probability change when the least
  relevant pixels are removed minus the change when the most relevant are removed. Higher is more faithful.
* ``drop``: the probability lost when the top ``remove_fraction`` of pixels by the map are removed
  (ROAD MoRF at one threshold). Higher means the map found pixels the decision depends on.
"""
from __future__ import annotations

import numpy as np
import torch
from pytorch_grad_cam.metrics.road import ROADCombined, ROADMostRelevantFirst
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

from .models import Classifier


def scores(classifier: Classifier, crop: np.ndarray, heatmap: np.ndarray, class_index: int, *,
           percentiles: list[int], remove_fraction: float, seed: int = 0) -> dict[str, float]:
    """ROAD combined score and the probability drop after removing the top ``remove_fraction`` of pixels.

    The imputation adds Gaussian noise, seeded by ``seed`` for reproducibility.
    """
    x = classifier.to_input(crop)
    targets = [ClassifierOutputSoftmaxTarget(class_index)]
    cams = heatmap[None].astype(np.float32)
    torch.manual_seed(seed)
    road = float(ROADCombined(percentiles=list(percentiles))(x, cams, targets, classifier.model)[0])
    torch.manual_seed(seed)
    morf = ROADMostRelevantFirst(percentile=round(100 * (1 - remove_fraction)))
    drop = -float(morf(x, cams, targets, classifier.model)[0])
    return {"road": road, "drop": drop}
