"""results/comparison.py: chapter 4's numbers on hand-computed masks."""

from __future__ import annotations

import numpy as np
import pytest

from xaireport.results.comparison import Pair, compare, family_gap, threshold_masks


def _pairs() -> list[Pair]:
    """Two images: Grad-CAM (and an identical second CAM) marks the left half of a 4 × 4 crop, LIME the top half."""
    left = np.zeros((4, 4), dtype=np.float32)
    left[:, :2] = 1.0
    top = np.zeros((4, 4), dtype=bool)
    top[:2] = True
    crop = np.zeros((4, 4, 3), dtype=np.uint8)
    return [
        Pair(name, "cat", crop, {"gradcam": left, "ablationcam": left.copy()}, top, top.astype(np.float32))
        for name in ("a.png", "b.png")
    ]


def test_iou_and_its_chance_levels_on_two_half_masks():
    pairs = _pairs()
    (mask, iou), _ = threshold_masks(pairs, 0.5)
    assert mask.sum() == 8 and iou == pytest.approx(1 / 3)  # |A ∩ B| = 4, |A ∪ B| = 12
    c = compare(pairs, threshold=0.5, fractions=[0.5], seed=0)
    row = c.ious.iloc[0]
    assert row["Grad-CAM area"] == 0.5 and row["LIME area"] == 0.5
    assert row["IoU at threshold"] == pytest.approx(1 / 3) and row["area-matched IoU"] == pytest.approx(1 / 3)
    assert row["chance level"] == pytest.approx(1 / 3)  # |A||B|/N = 4 pixels expected: 4 / (8 + 8 - 4)
    assert c.mean_iou_area == pytest.approx(1 / 3) and c.mean_pixel_chance == pytest.approx(1 / 3)
    strict = max(row["chance level"], row["placement chance level"])
    assert c.mean_strict_chance == pytest.approx(strict) and c.ratio == pytest.approx((1 / 3) / strict)
    assert c.above_chance == int(1 / 3 > strict) * 2
    assert list(c.curve["mean IoU"]) == pytest.approx([1 / 3]) and list(c.curve["capped images"]) == [0.0]


def test_the_cams_agree_with_each_other_more_than_with_lime():
    c = compare(_pairs(), threshold=0.5, fractions=[0.25, 0.5], seed=0)
    assert list(c.agree_iou.index) == ["Grad-CAM", "AblationCAM", "LIME"]
    assert c.agree_iou.loc["Grad-CAM", "AblationCAM"] == 1.0 and c.cam_cam == 1.0
    assert c.cam_lime == pytest.approx(1 / 3)
    assert c.cams_closer is not None and c.cams_closer.mean == pytest.approx(2 / 3)


def test_with_one_cam_there_is_no_cam_cam_agreement():
    one_cam = np.stack([np.array([[1.0, 0.2], [0.2, 1.0]])] * 2)  # images × (CAM, LIME) × (CAM, LIME)
    assert family_gap(one_cam).size == 0
    pairs = _pairs()
    for p in pairs:
        del p.cams["ablationcam"]
    c = compare(pairs, 0.5, [0.5])
    assert np.isnan(c.cam_cam) and c.cams_closer is None and c.cam_lime == pytest.approx(1 / 3)
