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


def test_rise_kernel_is_rises_gkern():
    """RISE's ``gkern(11, 5)``: scipy's gaussian_filter of a centred delta (reflect border), summing to 1 because
    reflection keeps the mass inside the 11 x 11 grid; symmetric, largest at the centre."""
    k = ev.rise_kernel(11, 5)
    assert k.shape == (11, 11) and k.sum() == pytest.approx(1.0) and np.allclose(k, k.T) and np.allclose(k, k[::-1])
    assert k.argmax() == 60 and k[5, 5] > k[5, 0] > 0


def test_deletion_and_insertion_follow_the_map_order_and_rises_substrates():
    torch = pytest.importorskip("torch")
    x = torch.full((1, 3, 4, 4), 2.0)
    saliency = np.arange(16, dtype=float).reshape(4, 4)  # pixel 15 most relevant
    deletion = ev.causal_inputs(x, saliency, "deletion", steps=4)
    assert deletion.shape == (5, 3, 4, 4) and (deletion[0] == 2).all() and (deletion[-1] == 0).all()
    d1 = deletion[1].reshape(3, 16)
    assert (d1[:, 12:] == 0).all() and (d1[:, :12] == 2).all()  # the top quarter set to 0: the mean colour
    insertion = ev.causal_inputs(x, saliency, "insertion", steps=4)
    blurred = ev.blur(x)[0]
    assert torch.allclose(insertion[0], blurred) and (insertion[-1] == 2).all()
    i1 = insertion[1].reshape(3, 16)
    assert (i1[:, 12:] == 2).all() and torch.allclose(i1[:, :12], blurred.reshape(3, 16)[:, :12])
    # zero padding: a uniform input blurs to less at the corners than at the centre
    assert blurred[0, 0, 0] < blurred[0, 2, 2] < 2.0
    with pytest.raises(ValueError, match="deletion or insertion"):
        ev.causal_inputs(x, saliency, "both", steps=4)

    class Bright(torch.nn.Module):  # "probability" = fraction of pixels above 1 (two classes)
        def forward(self, b):
            p = (b[:, 0] > 1).float().flatten(1).mean(1)
            return torch.log(torch.stack([p, 1 - p], 1).clamp_min(1e-12))

    assert ev.causal_auc(Bright(), x, saliency, 0, "deletion", 4) == pytest.approx(0.5)


def test_max_sensitivity_of_a_constant_and_of_a_changing_explainer():
    base = np.ones((8, 8))
    assert ev.max_sensitivity([np.ones((8, 8))] * 3, base) == 0.0
    assert np.isnan(ev.max_sensitivity([np.ones((8, 8))], np.zeros((8, 8))))
    assert np.isnan(ev.max_sensitivity([], base))
    # max-normalised: a map twice as large is the same map; one pixel off by 1 of 64 -> ||d|| / ||b|| = 1 / 8
    other = np.ones((8, 8))
    other[0, 0] = 0
    assert ev.max_sensitivity([2 * base, other], base) == pytest.approx(1 / 8)


def test_noise_reaches_the_model_input_unchanged(lite0, chelsea):
    """Max-sensitivity's noisy inputs are explained by a classifier whose preprocessing of a crop-sized image is the
    identity: the tensor the model sees is the noisy crop (issue 33: the noise used to be added before the resize,
    which shrank it by a different factor per image)."""
    from xaireport.results.measures import input_sized

    crop = lite0.crop(chelsea)
    same = input_sized(lite0)
    assert np.array_equal(same.crop(crop), crop)
    noisy = np.clip(crop.astype(int) + np.random.default_rng(0).integers(-5, 6, crop.shape), 0, 255).astype(np.uint8)
    assert np.array_equal(same.crop(noisy), noisy) and not np.array_equal(lite0.crop(noisy), noisy)


def test_other_class_never_returns_the_explained_one_and_covers_the_rest():
    drawn = {ev.other_class(3, 5, seed) for seed in range(200)}
    assert drawn == {0, 1, 2, 4}


def _run(road: dict[str, list[float]], randomization: dict[str, list[float]], verdicts: dict[str, str]):
    """A hand-made chapter-6 run: per method, ROAD and the randomization difference per image, and chapter 5's
    verdict."""
    from types import SimpleNamespace

    from xaireport.results.evaluation import EvaluationRun

    rows = []
    for m, values in road.items():
        for i, v in enumerate(values):
            rows.append({"method": m, "image": f"im{i}", "road": v, "randomization": randomization[m][i]})
    methods = list(road)
    return EvaluationRun(
        pd.DataFrame(rows),
        methods,
        {m: m.upper() for m in methods},
        {m: [m] for m in methods},
        [],
        ["road", "randomization"],
        {m: SimpleNamespace(outcome=verdicts[m]) for m in methods},  # type: ignore[misc]
        [f"im{i}" for i in range(len(next(iter(road.values()))))],
    )


def test_the_conclusion_names_methods_that_pass_and_are_among_the_most_faithful():
    from xaireport.report.method_evaluation import conclude, rankings

    road = {"a": [0.30, 0.32, 0.31, 0.35, 0.29, 0.33], "b": [0.29, 0.33, 0.30, 0.34, 0.30, 0.32]}
    road["c"] = [0.05, 0.06, 0.04, 0.07, 0.03, 0.05]
    rnd = {m: [0.0] * 6 for m in road}
    run = _run(road, rnd, {"a": "passes", "b": "fails", "c": "passes"})
    c = conclude(run, rankings(run))
    assert c.passing == ["a", "c"] and c.failing == ["b"] and c.faithfulness.best == "a"
    assert c.faithfulness.outcome == "among the best" and c.faithfulness.among_best == ["a", "b"]
    assert c.trusted == ["a"] and c.contrast is None and c.faithfulness_ranked


def test_when_every_method_ties_on_faithfulness_nothing_is_claimed_about_the_most_faithful():
    """Issue 33: when ROAD ties everything, "no method both passes and is among the most faithful" was printed
    though every passing method then is among the most faithful. Now the conclusion says ROAD ranks nothing."""
    from xaireport.report.method_evaluation import conclude, rankings

    rng = np.random.default_rng(3)
    road = {m: list(rng.normal(0.2, 0.05, 8)) for m in ("a", "b", "c")}
    run = _run(road, {m: [0.0] * 8 for m in road}, {"a": "passes", "b": "fails", "c": "undecided"})
    c = conclude(run, rankings(run))
    assert c.faithfulness.outcome == "no ranking" and not c.faithfulness_ranked and c.trusted == []
    assert c.faithfulness.among_best == ["a", "b", "c"]  # nobody is excluded by a ranking that does not exist


def test_guided_backprop_contrast_is_decided_per_image():
    from xaireport.report.method_evaluation import conclude, rankings

    road = {"guided_backprop": [0.1, 0.2, 0.15], "saliency": [0.1, 0.2, 0.16]}
    rnd = {"guided_backprop": [3.0, 3.2, 3.1], "saliency": [0.4, 0.5, 0.45]}
    run = _run(road, rnd, {"guided_backprop": "fails", "saliency": "fails"})
    c = conclude(run, rankings(run))
    assert c.contrast is not None and c.contrast.outcome == "above"  # Adebayo et al.'s contrast, reproduced
    assert c.trusted == []


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
