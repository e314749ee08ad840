"""Chapter 6's measures (``methods/evaluation.py``) on hand-computed values, and the chapter's decisions
(``report/method_evaluation.py``) on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaireport.methods import evaluation as ev


def test_gini_of_uniform_and_one_hot_maps():
    assert ev.gini(np.ones((4, 4))) == pytest.approx(0.0)
    one = np.zeros(16)
    one[3] = -2.0  # |map|: the sign does not matter
    assert ev.gini(one) == pytest.approx(15 / 16)  # (n - 1) / n for all mass on one of n
    assert np.isnan(ev.gini(np.zeros(5)))
    assert ev.gini(np.array([1.0, 3.0])) == pytest.approx(0.25)  # ((-1)*1 + 1*3) / (2 * 4)


def test_auc_is_the_trapezoid_over_unit_fractions():
    assert ev.auc([1.0, 1.0, 1.0]) == 1.0
    assert ev.auc([1.0, 0.0]) == 0.5
    assert ev.auc([1.0, 0.5, 0.0, 0.0, 0.0]) == pytest.approx((0.75 + 0.25 + 0 + 0) / 4)


def test_deletion_and_insertion_follow_the_map_order():
    crop = np.full((4, 4, 3), 200, np.uint8)
    saliency = np.arange(16, dtype=float).reshape(4, 4)  # pixel 15 most relevant
    deletion, insertion = ev.causal_images(crop, saliency, steps=4)
    assert deletion.shape == (5, 4, 4, 3) and np.all(deletion[0] == 200) and np.all(deletion[-1] == 0)
    assert np.all(deletion[1].reshape(16, 3)[12:] == 0) and np.all(deletion[1].reshape(16, 3)[:12] == 200)
    assert np.all(insertion[-1] == 200) and np.array_equal(insertion[1].reshape(16, 3)[12:], np.full((4, 3), 200))

    # a "model" whose probability is the fraction of bright pixels: deletion falls linearly 1 → 0
    def prob(batch):
        return (batch.reshape(len(batch), -1) > 100).mean(axis=1)

    d, i = ev.deletion_insertion(prob, crop, saliency, steps=4)
    assert d == pytest.approx(0.5)
    assert i == pytest.approx(1.0)  # the blur of a uniform crop is the crop: bright from the start


def test_max_sensitivity_of_a_constant_and_of_the_identity_explainer():
    image = np.full((8, 8, 3), 100, np.uint8)
    assert ev.max_sensitivity(lambda x: np.ones((8, 8)), image, samples=3, radius=0.1) == 0.0
    # the map is the image's red channel: the change is the noise, at most radius * 255 / 100 per pixel
    s = ev.max_sensitivity(lambda x: x[..., 0].astype(float), image, samples=5, radius=0.1, seed=1)
    assert 0 < s <= 0.1 * 255 / 100 + 0.01
    assert np.isnan(ev.max_sensitivity(lambda x: np.zeros((8, 8)), image, samples=2, radius=0.1))
    # a given Φ(x) is used as it is, and the explainer then runs once per noisy draw only
    calls = []
    red = lambda x: calls.append(1) or x[..., 0].astype(float)  # noqa: E731
    given = ev.max_sensitivity(red, image, samples=5, radius=0.1, seed=1, base=image[..., 0].astype(float))
    assert given == s and len(calls) == 5
    shifted = ev.max_sensitivity(red, image, samples=1, radius=0.1, seed=1, base=np.eye(8))
    assert shifted > 1  # measured against the given map, not against a recomputed one


def test_other_class_never_returns_the_explained_one_and_covers_the_rest():
    drawn = {ev.other_class(3, 5, seed) for seed in range(200)}
    assert drawn == {0, 1, 2, 4}


def _table(road: dict[str, list[float]], rho: dict[str, list[list[float]]]) -> pd.DataFrame:
    rows = []
    for m, values in road.items():
        for i, v in enumerate(values):
            rows.append(
                {"method": m, "image": f"im{i}", "road": v, **{f"rho_seed{s}": r for s, r in enumerate(rho[m][i])}}
            )
    return pd.DataFrame(rows)


def test_the_conclusion_names_methods_that_pass_and_are_most_faithful():
    from xaireport.report.method_evaluation import conclude

    road = {"a": [0.30, 0.32, 0.31], "b": [0.29, 0.33, 0.30], "c": [0.05, 0.06, 0.04]}
    low, high = [[0.05, 0.06]] * 3, [[0.8, 0.82]] * 3
    c = conclude(_table(road, {"a": low, "b": high, "c": low}), ["a", "b", "c"], threshold=0.2)
    assert c.passing == ["a", "c"] and c.failing == ["b"] and c.best == "a"
    assert c.most_faithful == ["a", "b"]  # b is not decided worse than a; c is
    assert c.trusted == ["a"] and c.contrast is None


def test_guided_backprop_contrast_is_decided_per_image_and_seed():
    from xaireport.report.method_evaluation import conclude

    road = {"guided_backprop": [0.1, 0.2, 0.15], "saliency": [0.1, 0.2, 0.16]}
    rho = {"guided_backprop": [[0.9, 0.85]] * 3, "saliency": [[0.1, 0.12], [0.05, 0.1], [0.08, 0.09]]}
    c = conclude(_table(road, rho), ["guided_backprop", "saliency"], threshold=0.2)
    assert c.contrast is not None and c.contrast.outcome == "above"  # Adebayo et al.'s contrast, reproduced
    assert c.trusted == []  # nothing decided most faithful on three images this close


def test_the_chapter_names_every_cost_setting_a_profile_lowered(root):
    from xaireport.report.method_evaluation import COST_SETTINGS, changed_cost_settings
    from xaireport.settings import load

    assert changed_cost_settings(load("", root)) == []  # the default profile keeps every default
    assert changed_cost_settings(load("offline", root)) == []  # the offline budget fits the defaults (README)
    smoke = {k: (v, d) for k, v, d in changed_cost_settings(load("smoke", root))}
    assert set(smoke) <= set(COST_SETTINGS) and smoke["evaluation.sensitivity_samples"] == (1, 3)
    changed = changed_cost_settings(load("", root, overrides={"attributions.ig_steps": 7}))
    assert changed == [("attributions.ig_steps", 7, 50)]


def test_the_criteria_figure_draws_the_best_rank_darkest():
    """The caption says dark = best: rank 1 must be the darkest colour, the worst rank the lightest."""
    from xaireport.report.method_evaluation import rank_colours

    colours = rank_colours(np.array([[1.0, 7.0, 14.0, np.nan]]), worst=14)[0]
    luminance = colours[:, :3] @ np.array([0.2126, 0.7152, 0.0722])
    assert luminance[0] < 0.15 < luminance[1] < luminance[2] and luminance[2] > 0.8
    assert tuple(colours[3]) == (0.9, 0.9, 0.9, 1.0)


def test_gini_equals_quantus_sparseness_on_a_real_map_and_a_signed_one(lite0, chelsea):
    """Chapter 6's complexity measure against Quantus' own ``Sparseness`` (Quantus adds 1e-7 to every value before
    the Gini index, hence the tolerance): on a Grad-CAM map of EfficientNet-Lite0 and on a signed random map."""
    quantus = pytest.importorskip("quantus", reason="make setup installs Quantus (test-only, --no-deps)")
    from xaireport.methods.registry import get
    from xaireport.methods.tolerances import QUANTUS_SPARSENESS_ATOL

    cam = get("gradcam").explain(lite0, chelsea, None, progress=False).map
    signed = np.random.default_rng(0).normal(size=(32, 32))
    for a in (cam, signed):
        x = np.zeros((1, 3, *a.shape), np.float32)  # Sparseness reads only the attributions
        q = quantus.Sparseness(disable_warnings=True)(
            model=None, x_batch=x, y_batch=np.array([0]), a_batch=a[None, None].astype(np.float32), channel_first=True
        )
        assert q[0] == pytest.approx(ev.gini(a), abs=QUANTUS_SPARSENESS_ATOL)
    assert 0.2 < ev.gini(cam) < 0.8  # a real CAM: neither uniform nor one pixel
