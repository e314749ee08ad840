"""Agreement between saliency maps: binarisation, Intersection-over-Union, its chance level, rank correlation.

All functions take maps of equal shape (here 224 × 224, aligned with ``classifier.crop(image)``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.stats import spearmanr


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """|A ∩ B| / |A ∪ B| of two boolean masks; ``nan`` when both are empty.

    Raises:
        ValueError: the masks differ in shape or are not boolean.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"masks differ in shape: {a.shape} vs {b.shape}")
    if a.dtype != bool or b.dtype != bool:
        raise ValueError(f"masks must be boolean, got {a.dtype} and {b.dtype}")
    union = np.logical_or(a, b).sum()
    if union == 0:
        return float("nan")
    return float(np.logical_and(a, b).sum() / union)


def binarize(saliency: np.ndarray, threshold: float | None = None, area: float | None = None) -> np.ndarray:
    """A boolean mask from a continuous map.

    Args:
        saliency: the map.
        threshold: keep pixels with value ≥ ``threshold``.
        area: keep exactly ``round(area × pixels)`` pixels with the highest values; ties are broken stably
            (the earlier pixel in row-major order wins).

    Exactly one of ``threshold`` and ``area`` must be given.
    """
    m = np.asarray(saliency)
    if (threshold is None) == (area is None):
        raise ValueError("give exactly one of threshold and area")
    if threshold is not None:
        return m >= threshold
    if not 0.0 <= area <= 1.0:
        raise ValueError(f"area must be a fraction in [0, 1], got {area}")
    k = int(round(area * m.size))
    order = np.argsort(-m.ravel(), kind="stable")
    out = np.zeros(m.size, dtype=bool)
    out[order[:k]] = True
    return out.reshape(m.shape)


def chance_iou(area_a: float, area_b: float, n: int = 1) -> float:
    """Expected IoU of two independent random masks with ``area_a`` and ``area_b`` pixels out of ``n``
    (or with those fractions when ``n = 1``): E|A∩B| = |A||B|/N, and the union is |A| + |B| − that."""
    inter = area_a * area_b / n
    union = area_a + area_b - inter
    return float(inter / union) if union > 0 else float("nan")


def iou_at_threshold(cam: np.ndarray, lime_mask: np.ndarray, threshold: float = 0.5) -> float:
    """Grad-CAM binarised at a fixed threshold vs LIME's top-superpixel mask."""
    return iou(binarize(cam, threshold=threshold), lime_mask)


def area_matched_iou(cam: np.ndarray, lime_mask: np.ndarray) -> float:
    """Grad-CAM binarised to exactly the LIME mask's area, so the IoU measures location only."""
    return iou(binarize(cam, area=float(lime_mask.mean())), lime_mask)


def iou_curve(a: np.ndarray, b: np.ndarray, fractions: Sequence[float]) -> np.ndarray:
    """IoU of the top-``f`` pixels of two continuous maps for each area fraction ``f``."""
    return np.array([iou(binarize(a, area=f), binarize(b, area=f)) for f in fractions])


def chance_curve(fractions: Sequence[float]) -> np.ndarray:
    """Chance IoU of two random masks of the same area fraction f: f / (2 − f)."""
    return np.array([chance_iou(f, f) for f in fractions])


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps over all pixels (``nan`` if either is constant)."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if a.min() == a.max() or b.min() == b.max():
        return float("nan")
    return float(spearmanr(a, b).statistic)


def agreement(overlap_maps: dict[str, np.ndarray], area: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise area-matched IoU (every map binarised to ``area``) and Spearman correlation of the maps."""
    names = list(overlap_maps)
    n = len(names)
    ious, rhos = np.eye(n), np.eye(n)
    masks = {k: binarize(v, area=area) for k, v in overlap_maps.items()}
    for i in range(n):
        for j in range(i + 1, n):
            ious[i, j] = ious[j, i] = iou(masks[names[i]], masks[names[j]])
            rhos[i, j] = rhos[j, i] = spearman(overlap_maps[names[i]], overlap_maps[names[j]])
    return ious, rhos


def overlap_image(crop: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The crop (dimmed) with pixels only in ``a`` red, only in ``b`` blue, in both yellow."""
    out = crop.astype(np.float32) * 0.45
    colours = {(True, False): (230, 40, 40), (False, True): (40, 90, 240), (True, True): (250, 220, 30)}
    for (in_a, in_b), colour in colours.items():
        m = (a == in_a) & (b == in_b)
        out[m] = 0.35 * crop[m] + 0.65 * np.array(colour, np.float32)
    return out.clip(0, 255).astype(np.uint8)
