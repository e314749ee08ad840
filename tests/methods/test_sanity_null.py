"""The null of unrelated maps (``methods/sanity.null_comparison``), Fisher's z and the controls, on toys with
known answers (issue 33)."""

from __future__ import annotations

import numpy as np
import pytest

from xaireport.methods.agreement import spearman
from xaireport.methods.sanity import control_map, fisher_z, null_comparison, spearman_matrix


def gaussian_fields(n: int, shape=(64, 64), seed=0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for _ in range(n)]


def test_spearman_matrix_equals_scipy_pair_by_pair_and_is_nan_for_a_constant_map():
    a = gaussian_fields(3, seed=1) + [np.zeros((64, 64))]
    b = gaussian_fields(2, seed=2)
    b[1] = np.round(b[1])  # many ties
    m = spearman_matrix(a, b)
    for i in range(3):
        for j in range(2):
            assert m[i, j] == pytest.approx(spearman(a[i], b[j]), abs=1e-12)
    assert np.isnan(m[3]).all()


def test_the_null_is_the_level_at_which_unrelated_maps_correlate():
    """Trained map T_i = S + I_i (a structure S every map of the method shares, plus the image's own part), randomized
    map R_i = S + N_i (the structure, no trace of the image). Pearson r between any two such maps is 1/2, so their
    Spearman ρ is (6/π) asin(r/2) = 0.4826 (Gaussian fields): the matched ρ(T_i, R_i) and the null ρ(T_i, R_j) are
    both at that level and their difference is 0; with R_i = S + I_i + N_i the map keeps the image's part and the
    matched ρ rises to (6/π) asin(r/2) with r = 2/sqrt(2·3) = 0.8165, i.e. 0.8013."""
    n = 8
    s = gaussian_fields(1, (96, 96), seed=3)[0]
    own = gaussian_fields(n, (96, 96), seed=4)
    noise = gaussian_fields(n, (96, 96), seed=5)
    trained = [s + i for i in own]
    unrelated = [s + e for e in noise]
    c = null_comparison(trained, [unrelated], "spearman")
    known = 6 / np.pi * np.arcsin(0.25)
    assert c.null[:, 0] == pytest.approx(known, abs=0.02) and c.matched[:, 0] == pytest.approx(known, abs=0.02)
    assert c.trained_null == pytest.approx(known, abs=0.02)  # trained maps of different images share S only
    assert abs(c.differences()).max() < 0.05 and c.constant == 0 and c.dropped == 0
    kept = [s + i + e for i, e in zip(own, noise)]
    k = null_comparison(trained, [kept], "spearman")
    assert k.matched[:, 0] == pytest.approx(6 / np.pi * np.arcsin(0.8165 / 2), abs=0.02)
    # null: r(T_i, R_j) = 1 / sqrt(2 * 3) = 0.408 -> rho 0.3925
    assert k.null[:, 0] == pytest.approx(6 / np.pi * np.arcsin(0.4082 / 2), abs=0.02)
    expected = fisher_z(6 / np.pi * np.arcsin(0.8165 / 2)) - fisher_z(6 / np.pi * np.arcsin(0.4082 / 2))
    assert k.differences() == pytest.approx(expected, abs=0.05)


def test_a_constant_randomized_map_counts_as_changed_and_a_constant_trained_map_drops_the_image():
    t = gaussian_fields(3, seed=6)
    r = [m.copy() for m in t]
    r[1] = np.zeros_like(r[1])  # an all-zero CAM of a randomized model
    c = null_comparison(t, [r], "spearman")
    assert c.constant == 1 and c.matched[1, 0] == 0.0 and c.matched[0, 0] == pytest.approx(1.0)
    t2 = [np.ones((64, 64))] + t[1:]
    d = null_comparison(t2, [r], "spearman")
    assert d.dropped == 1 and np.isnan(d.matched[0, 0]) and np.isnan(d.differences()[0])


def test_seeds_are_averaged_within_each_image_on_the_z_scale():
    t = gaussian_fields(4, seed=7)
    seeds = [[m + 0.5 * e for m, e in zip(t, gaussian_fields(4, seed=8 + s))] for s in range(3)]
    c = null_comparison(t, seeds, "spearman")
    assert c.matched.shape == (4, 3) and c.null.shape == (4, 3)
    expected = fisher_z(c.matched).mean(axis=1) - fisher_z(c.null).mean(axis=1)
    assert c.differences() == pytest.approx(expected)
    assert fisher_z(1.0) == pytest.approx(np.arctanh(0.999)) and np.isnan(fisher_z(np.nan))


def test_ssim_and_hog_have_their_null_too():
    t = gaussian_fields(3, seed=9)
    c = null_comparison(t, [t], "ssim")
    assert c.matched[:, 0] == pytest.approx(1.0) and (c.null[:, 0] < 0.5).all() and not c.correlation
    h = null_comparison(t, [t], "hog")
    assert h.matched[:, 0] == pytest.approx(1.0) and h.correlation


def test_the_controls_ignore_the_model_or_change_with_every_set_of_weights():
    crop = (np.random.default_rng(10).random((32, 32, 3)) * 255).astype(np.uint8)
    assert np.array_equal(control_map("edges", crop, "trained", "d"), control_map("edges", crop, "random", "d"))
    a, b = control_map("noise", crop, "trained", "d"), control_map("noise", crop, "random", "d")
    assert a.shape == (32, 32) and not np.array_equal(a, b)
    assert np.array_equal(a, control_map("noise", crop, "trained", "d"))  # same weights, same image: same noise
    assert abs(spearman(a, b)) < 0.2
    with pytest.raises(ValueError, match="unknown control"):
        control_map("nope", crop, "w", "d")
