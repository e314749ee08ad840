"""ROAD with exact removal fractions: counts on tied maps, and equality with the grad-cam package without ties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_grad_cam.metrics.road import (
    NoisyLinearImputer,
    ROADLeastRelevantFirst,
    ROADMostRelevantFirst,
    neighbors_weights,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

from xaireport.methods import faithfulness


def _tied_map() -> np.ndarray:
    """Half the map exactly 0 (as a ReLU'd CAM), a third exactly 1, the rest a ramp."""
    m = np.zeros((224, 224), np.float32)
    m[:75] = 1.0
    m[75:112] = np.linspace(0.1, 0.9, 224, dtype=np.float32)[None]
    return m


@pytest.mark.parametrize("most_relevant", [True, False])
def test_every_fraction_removes_exactly_that_many_pixels(most_relevant):
    m = _tied_map()
    n = m.size
    for p in range(10, 100, 10):
        f = (100 - p) / 100
        removed = faithfulness.removal_mask(m, f, most_relevant, seed=0)
        assert removed.sum() == round(f * n), (p, removed.sum())
    top = faithfulness.removal_mask(m, 0.2, True)
    assert m[top].min() == 1.0  # the most relevant 20 % lie inside the tied top third
    low = faithfulness.removal_mask(m, 0.2, False)
    assert m[low].max() == 0.0
    # ties are taken in a seeded random order, not row-major: the removed zeros are spread over their rows
    rows = np.nonzero(low)[0]
    assert rows.min() < 130 and rows.max() > 200
    assert (faithfulness.removal_mask(m, 0.2, False, seed=1) != low).any()


def test_the_library_threshold_removes_the_wrong_fraction_on_ties():
    """Why we rank pixels ourselves: the package removes map >= percentile, all of a tied value at once."""
    m = _tied_map()
    threshold = np.percentile(m, 10)  # MoRF at percentile 10 means "remove the 90 % most relevant"
    assert (m >= threshold).mean() == 1.0  # ... and removes 100 %


def test_equals_the_library_on_a_map_without_ties(lite0, chelsea):
    crop = lite0.crop(chelsea)
    x = lite0.to_input(crop)
    # distinct values k / 2^16, so that the package's 1 − map (LeRF) is exact in float32 and has no ties either
    cam = (np.random.default_rng(0).permutation(224 * 224) / 65536).astype(np.float32).reshape(1, 224, 224)
    targets = [ClassifierOutputSoftmaxTarget(285)]
    # (where p·(N−1) is an integer, np.percentile keeps one pixel fewer than round(); p = 10, 35, 55 avoid that)
    for p in (10, 35, 55):
        torch.manual_seed(0)
        lib = float(ROADMostRelevantFirst(p)(x, cam, targets, lite0.model)[0])
        assert faithfulness.change(lite0, x, cam, targets, (100 - p) / 100, True, 0) == pytest.approx(lib, abs=1e-6)
        torch.manual_seed(0)
        lib = float(ROADLeastRelevantFirst(p)(x, cam, targets, lite0.model)[0])
        assert faithfulness.change(lite0, x, cam, targets, (100 - p) / 100, False, 0) == pytest.approx(lib, abs=1e-6)


def test_scores_are_reproducible_and_bounded(lite0, chelsea):
    crop = lite0.crop(chelsea)
    s1 = faithfulness.scores(lite0, crop, _tied_map(), 285, percentiles=[20, 80], remove_fraction=0.2, seed=0)
    s2 = faithfulness.scores(lite0, crop, _tied_map(), 285, percentiles=[20, 80], remove_fraction=0.2, seed=0)
    assert s1 == s2 and -1 <= s1["road"] <= 1 and -1 <= s1["drop"] <= 1


def test_scores_in_one_batch_equal_the_package_metric_per_fraction(lite0, chelsea):
    """scores() runs every perturbation in one batch; each value must be the package metric's (change())."""
    crop = lite0.crop(chelsea)
    x = lite0.to_input(crop)
    heat = _tied_map()
    targets = [ClassifierOutputSoftmaxTarget(285)]
    s = faithfulness.scores(lite0, crop, heat, 285, percentiles=[20, 50, 80], remove_fraction=0.3, seed=3)
    cam = heat[None].astype(np.float32)

    def mean_change(most: bool) -> float:
        return float(np.mean([faithfulness.change(lite0, x, cam, targets, f, most, 3) for f in (0.8, 0.5, 0.2)]))

    assert s["road"] == pytest.approx((mean_change(False) - mean_change(True)) / 2, abs=1e-5)
    assert s["drop"] == pytest.approx(-faithfulness.change(lite0, x, cam, targets, 0.3, True, 3), abs=1e-5)
    assert abs(s["drop"]) > 1e-3  # removing 30 % of the cat changes its probability: the comparison is not 0 = 0


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_imputation_equals_the_package_imputer(fraction):
    """Our equation system and imputation against ``NoisyLinearImputer`` (same matrix, same noise draw)."""
    img = torch.rand(3, 224, 224, generator=torch.Generator().manual_seed(0))
    keep = (~faithfulness.removal_mask(_tied_map(), fraction, True, seed=0)).astype(np.float32)
    a_lib, b_lib = NoisyLinearImputer.setup_sparse_system(keep, img.numpy(), neighbors_weights)
    a, b = faithfulness.system(keep, img.numpy())
    assert a.shape == a_lib.shape == (round(fraction * 224 * 224),) * 2
    assert abs(a - a_lib.tocsc()).max() == 0 and a.nnz == a_lib.nnz and np.array_equal(b, b_lib)
    torch.manual_seed(5)
    lib = NoisyLinearImputer()(img, torch.from_numpy(keep))
    torch.manual_seed(5)
    ours = faithfulness.impute(img, torch.from_numpy(keep))
    assert torch.equal(ours, lib)
    assert torch.equal(ours[:, keep > 0], img[:, keep > 0]) and not torch.equal(ours, img)
