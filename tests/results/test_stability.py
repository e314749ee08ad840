"""results/stability.py: chapter 3's seed-stability numbers on hand-made explanations."""

from __future__ import annotations

import numpy as np
import pytest

from xaireport.methods.explanations import LimeResult
from xaireport.results.stability import stability


def _result(mask: np.ndarray, r2: float, class_index: int = 1) -> LimeResult:
    z = np.zeros(mask.shape, dtype=np.float32)
    return LimeResult(
        np.zeros((*mask.shape, 3), np.uint8), np.zeros(mask.shape, int), np.ones(1), mask, z, class_index, "c", 0.9,
        r2, 0.1,
    )  # fmt: skip


def test_jaccard_and_r2_over_seeds():
    a = np.zeros((2, 4), bool)
    a[0] = True  # 4 pixels
    b = a.copy()
    b[1, 0] = True  # 5 pixels, 4 shared: Jaccard 4/5 with a
    c = np.zeros((2, 4), bool)
    c[1] = True  # disjoint from a: 0; with b: 1/8
    got = stability([_result(a, 0.5), _result(b, 0.7), _result(c, 0.6)])
    assert got["seeds"] == 3 and got["same class"] is True
    assert got["mean Jaccard"] == pytest.approx((0.8 + 0.0 + 1 / 8) / 3) and got["min Jaccard"] == 0.0
    assert got["R² mean"] == pytest.approx(0.6) and got["R² std"] == pytest.approx(0.1)
    assert got["R² range"] == pytest.approx(0.2)


def test_one_seed_has_no_pairs_and_a_changed_class_is_seen():
    one = stability([_result(np.ones((2, 2), bool), 0.5)])
    assert one["seeds"] == 1 and np.isnan(one["mean Jaccard"]) and np.isnan(one["R² std"])
    assert (
        stability([_result(np.ones((2, 2), bool), 0.5), _result(np.ones((2, 2), bool), 0.5, 2)])["same class"] is False
    )
