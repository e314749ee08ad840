"""What an explanation is, as the report stores and shows it: :class:`CamResult` and :class:`LimeResult`.

Plain data (numpy arrays and numbers), importable without torch: a page whose explanations are all cached reads
them from the result cache and draws them without loading the methods that computed them
(:mod:`xaireport.methods.cams`, :mod:`xaireport.methods.lime`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CamResult:
    """One explanation.

    Attributes:
        map: float32 224×224 in [0, 1], aligned with ``classifier.crop(image)``.
        class_index, class_name, score: the explained class and its softmax probability.
        seconds: wall time of the explanation.
    """

    method: str
    map: np.ndarray
    class_index: int
    class_name: str
    score: float
    seconds: float


@dataclass
class LimeResult:
    """One LIME explanation.

    Attributes:
        image: the 224×224 RGB uint8 crop that was explained.
        segments: int 224×224 superpixel ids (0…S−1).
        weights: float S, the surrogate's weight of each superpixel for the class.
        mask: bool 224×224, the ``num_features`` superpixels with the largest positive weights.
        heatmap: float 224×224 in [0, 1], each pixel its superpixel's weight, positive weights scaled by the
            largest (negative weights → 0).
        class_index, class_name, score: the explained class and its softmax probability.
        r2: the surrogate's weighted R² on the perturbed samples.
        seconds: wall time.
    """

    image: np.ndarray
    segments: np.ndarray
    weights: np.ndarray
    mask: np.ndarray
    heatmap: np.ndarray
    class_index: int
    class_name: str
    score: float
    r2: float
    seconds: float
