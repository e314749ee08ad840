"""What an explanation is, whatever method made it: :class:`Explanation` (and :class:`LimeResult`, chapter 3's view
of a LIME explanation with its crop).

Plain data (numpy arrays and numbers), importable without torch: a page whose explanations are all cached reads
them from the result cache and draws them without loading the methods that computed them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Explanation:
    """One explanation of one image's decision by one method (every method of
    :mod:`xaireport.methods.registry` returns this type).

    Attributes:
        method: the registry name of the method (``gradcam``, ``lime``, ...).
        map: float32 attribution map at the model's input resolution, aligned with ``classifier.crop(image)``.
            A CAM's map is in [0, 1]; a signed method's (``signed``) keeps its signs and scale (LIME: each pixel
            its superpixel's weight).
        class_index, class_name, score: the explained class and its softmax probability.
        seconds: wall time of the explanation when it was computed.
        signed: whether ``map`` can be negative (evidence against the class).
        parts: method-specific arrays (LIME: ``segments``, ``weights``, ``mask``).
        info: method-specific numbers (LIME: ``r2``, the surrogate's weighted R²).
    """

    method: str
    map: np.ndarray
    class_index: int
    class_name: str
    score: float
    seconds: float
    signed: bool = False
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, float] = field(default_factory=dict)

    @property
    def heatmap(self) -> np.ndarray:
        """The map as positive evidence in [0, 1]: an unsigned map as it is; a signed map's positive part divided
        by its largest value (all zeros when nothing is positive)."""
        if not self.signed:
            return self.map
        pos = np.clip(self.map, 0, None)
        top = pos.max()
        return pos / top if top > 0 else pos


@dataclass
class LimeResult:
    """A LIME explanation as chapter 3 and ``xaireport lime`` show it (built by :meth:`of`).

    Attributes:
        image: the RGB uint8 crop that was explained.
        segments: int superpixel ids (0…S−1) of the crop.
        weights: float S, the surrogate's weight of each superpixel for the class.
        mask: bool, the ``num_features`` superpixels with the largest positive weights.
        heatmap: float in [0, 1], each pixel its superpixel's positive weight scaled by the largest.
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

    @classmethod
    def of(cls, e: Explanation, crop: np.ndarray) -> LimeResult:
        return cls(
            image=crop,
            segments=e.parts["segments"],
            weights=e.parts["weights"],
            mask=e.parts["mask"],
            heatmap=e.heatmap,
            class_index=e.class_index,
            class_name=e.class_name,
            score=e.score,
            r2=float(e.info["r2"]),
            seconds=e.seconds,
        )
