"""Agreement between saliency maps: binarisation, Intersection-over-Union, its chance level, rank correlation.

All functions take maps of equal shape (here 224 × 224, aligned with ``classifier.crop(image)``).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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


def ranking(saliency: np.ndarray, seed: int = 0) -> np.ndarray:
    """Flat pixel indices from the most to the least relevant, ties broken in a seeded random order.

    A piecewise-constant map (LIME's superpixel weights, a CAM's exact zeros) has large tied regions; breaking
    them in row-major order would always take the top rows of the image first.

    The result is read-only and remembered for the last :data:`RANKINGS_KEPT` (map bytes, seed) pairs: an IoU
    curve binarises the same two maps at every area fraction, and the sort (9 ms for 224 × 224) was 2 of the 3 s
    chapter 4 and the home page each spent on their tables.
    """
    m = np.asarray(saliency, dtype=np.float64).ravel()
    key = (hashlib.sha1(m.tobytes()).hexdigest(), m.size, seed)
    order = _RANKINGS.get(key)
    if order is None:
        tiebreak = np.random.default_rng(seed).random(m.size)
        order = np.lexsort((tiebreak, -m))  # primary key: value (descending), then the random tie-break
        order.flags.writeable = False
        _RANKINGS[key] = order
        if len(_RANKINGS) > RANKINGS_KEPT:
            _RANKINGS.popitem(last=False)
    else:
        _RANKINGS.move_to_end(key)
    return order


RANKINGS_KEPT = 256
_RANKINGS: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()


def binarize(
    saliency: np.ndarray,
    threshold: float | None = None,
    area: float | None = None,
    *,
    seed: int = 0,
    positive_only: bool = False,
) -> np.ndarray:
    """A boolean mask from a continuous map.

    Args:
        saliency: the map.
        threshold: keep pixels with value ≥ ``threshold``.
        area: keep exactly ``round(area × pixels)`` pixels with the highest values; ties are broken in a random
            order seeded by ``seed`` (:func:`ranking`).
        positive_only: with ``area``, never take a pixel whose value is ≤ 0 (no evidence): the mask then holds
            at most the positive pixels, so it can be smaller than ``area``.

    Exactly one of ``threshold`` and ``area`` must be given.
    """
    m = np.asarray(saliency)
    if (threshold is None) == (area is None):
        raise ValueError("give exactly one of threshold and area")
    if threshold is not None:
        return m >= threshold
    assert area is not None
    if not 0.0 <= area <= 1.0:
        raise ValueError(f"area must be a fraction in [0, 1], got {area}")
    k = int(round(area * m.size))
    if positive_only:
        k = min(k, int((m > 0).sum()))
    out = np.zeros(m.size, dtype=bool)
    out[ranking(m, seed)[:k]] = True
    return out.reshape(m.shape)


def chance_iou(area_a: float, area_b: float, n: int = 1) -> float:
    """Expected IoU of two independent random masks with ``area_a`` and ``area_b`` pixels out of ``n``
    (or with those fractions when ``n = 1``): E|A∩B| = |A||B|/N, and the union is |A| + |B| − that."""
    inter = area_a * area_b / n
    union = area_a + area_b - inter
    return float(inter / union) if union > 0 else float("nan")


def placement_chance_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Expected IoU of mask ``a`` with mask ``b`` placed at a uniformly random position: the mean IoU over all
    ``H × W`` cyclic translations of ``b`` (wrap-around), computed exactly with one FFT cross-correlation.

    Unlike :func:`chance_iou`, which assumes pixel-random masks, this keeps each mask's shape: two compact
    blobs overlap more often under random placement than two scattered pixel sets of the same areas, so this
    level is the stricter one for spatially coherent masks.
    """
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"masks differ in shape: {a.shape} vs {b.shape}")
    na, nb = int(a.sum()), int(b.sum())
    if na + nb == 0:
        return float("nan")
    inter = np.fft.irfft2(np.fft.rfft2(a.astype(np.float64)) * np.conj(np.fft.rfft2(b.astype(np.float64))), s=a.shape)
    inter = np.clip(np.rint(inter), 0, min(na, nb))  # integer counts, up to float rounding
    return float(np.mean(inter / (na + nb - inter)))


def strict_chance(a: np.ndarray, b: np.ndarray) -> float:
    """The larger of the two chance levels: pixel-random (:func:`chance_iou`) and random placement
    (:func:`placement_chance_iou`). "× chance" claims divide by this one."""
    return max(chance_iou(float(np.sum(a)), float(np.sum(b)), np.asarray(a).size), placement_chance_iou(a, b))


def iou_row(cam: np.ndarray, lime_mask: np.ndarray, threshold: float, seed: int = 0) -> dict[str, float]:
    """One image's Grad-CAM-vs-LIME numbers: the two masks' areas, the IoU of the CAM binarised at ``threshold``
    and of the CAM binarised to the LIME mask's area (seeded tie-break), each with its pixel-random and its
    random-placement chance level. Column names as in ``xaireport compare``'s CSV."""
    cam_mask = binarize(cam, threshold=threshold)
    matched = binarize(cam, area=float(lime_mask.mean()), seed=seed)
    a_cam, a_lime = float(cam_mask.mean()), float(lime_mask.mean())
    return {
        "cam_area": a_cam,
        "lime_area": a_lime,
        "iou_threshold": iou(cam_mask, lime_mask),
        "chance_threshold": chance_iou(a_cam, a_lime),
        "placement_chance_threshold": placement_chance_iou(cam_mask, lime_mask),
        "iou_area_matched": iou(matched, lime_mask),
        "chance_area_matched": chance_iou(a_lime, a_lime),
        "placement_chance_area_matched": placement_chance_iou(matched, lime_mask),
    }


def iou_at_threshold(cam: np.ndarray, lime_mask: np.ndarray, threshold: float = 0.5) -> float:
    """Grad-CAM binarised at a fixed threshold vs LIME's top-superpixel mask."""
    return iou(binarize(cam, threshold=threshold), lime_mask)


def area_matched_iou(cam: np.ndarray, lime_mask: np.ndarray, seed: int = 0) -> float:
    """Grad-CAM binarised to exactly the LIME mask's area (seeded tie-break), so the IoU measures location only."""
    return iou(binarize(cam, area=float(lime_mask.mean()), seed=seed), lime_mask)


@dataclass
class CurvePoint:
    """The top-``fraction`` masks of two maps at one area fraction, and what they score.

    ``capped`` is true when either map has fewer positive pixels than the fraction asks for: its mask then
    holds only its positive pixels (zero or negative evidence is never taken as evidence), and the chance
    levels use the masks' actual areas.
    """

    fraction: float
    iou: float
    chance: float
    placement_chance: float
    capped: bool


def iou_curve(a: np.ndarray, b: np.ndarray, fractions: Sequence[float], seed: int = 0) -> list[CurvePoint]:
    """IoU of the top-``f`` pixels of two continuous maps for each area fraction ``f`` (seeded tie-break, positive
    pixels only), with both chance levels of the masks actually compared."""
    out = []
    for f in fractions:
        ma, mb = (
            binarize(a, area=f, seed=seed, positive_only=True),
            binarize(b, area=f, seed=seed + 1, positive_only=True),
        )
        k = int(round(f * ma.size))
        out.append(
            CurvePoint(
                f,
                iou(ma, mb),
                chance_iou(float(ma.sum()), float(mb.sum()), ma.size),
                placement_chance_iou(ma, mb),
                bool(ma.sum() < k or mb.sum() < k),
            )
        )
    return out


def chance_curve(fractions: Sequence[float]) -> np.ndarray:
    """Pixel-random chance IoU of two masks of the same area fraction f: f / (2 − f)."""
    return np.array([chance_iou(f, f) for f in fractions])


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps over all pixels (``nan`` if either is constant)."""
    from scipy.stats import spearmanr  # imported here: scipy.stats costs a page that only needs IoU ~1 s

    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if a.min() == a.max() or b.min() == b.max():
        return float("nan")
    return float(spearmanr(a, b).statistic)


def agreement(overlap_maps: dict[str, np.ndarray], area: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise area-matched IoU (every map binarised to ``area``, each with its own tie-break seed) and Spearman
    correlation of the maps."""
    names = list(overlap_maps)
    n = len(names)
    ious, rhos = np.eye(n), np.eye(n)
    masks = {k: binarize(v, area=area, seed=i) for i, (k, v) in enumerate(overlap_maps.items())}
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
