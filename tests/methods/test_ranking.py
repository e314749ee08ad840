"""Rankings with their comparisons (``methods/ranking.py``): Friedman, then Holm-corrected comparisons with the
best, on tables with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaireport.methods.ranking import AMONG_BEST, BEST, NO_RANKING, holm, mean_ranks, paired_p, rank_methods


def test_holm_adjusts_step_down_and_keeps_nan_out():
    # sorted 0.01, 0.03, 0.04: 3 x 0.01 = 0.03; 2 x 0.03 = 0.06; 1 x 0.04 = 0.04 -> raised to 0.06 (monotone)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = holm([0.2, np.nan, 0.5])  # two hypotheses: 2 x 0.2 = 0.4, 1 x 0.5 -> 0.5
    assert out[0] == pytest.approx(0.4) and np.isnan(out[1]) and out[2] == pytest.approx(0.5)
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])


def test_friedman_on_a_table_ranked_the_same_way_on_every_image():
    # 4 images, 3 methods ranked 1, 2, 3 on every image: rank sums 4, 8, 12;
    # chi2 = 12 / (n k (k + 1)) * sum R^2 - 3 n (k + 1) = 12 / 48 * 224 - 48 = 8, p = exp(-8 / 2) (2 df)
    values = pd.DataFrame({"a": [0.9, 0.8, 0.7, 0.95], "b": [0.5, 0.45, 0.4, 0.6], "c": [0.1, 0.2, 0.15, 0.3]})
    r = rank_methods(values, "higher")
    assert r.friedman_p == pytest.approx(np.exp(-4.0), rel=1e-9)
    assert r.mean_ranks == {"a": 1.0, "b": 2.0, "c": 3.0} and r.best == "a" and r.images == 4
    # best vs b: differences 0.4, 0.35, 0.3, 0.35 -> t = 0.35 / (0.040825 / 2) = 17.146, 3 df
    from scipy import stats

    p_b = 2 * stats.t.sf(0.35 / (np.std([0.4, 0.35, 0.3, 0.35], ddof=1) / 2), 3)
    assert paired_p(values["a"], values["b"]) == pytest.approx(p_b)
    p_c = paired_p(values["a"], values["c"])
    assert p_b < p_c  # b's differences vary less: Holm multiplies b's p by 2 and c's by 1, kept monotone
    assert r.p_vs_best["b"] == pytest.approx(2 * p_b) and r.p_vs_best["c"] == pytest.approx(max(p_c, 2 * p_b))
    assert r.outcome == BEST and r.among_best == ["a"]


def test_lower_is_better_and_a_twin_of_the_best_is_among_the_best():
    rng = np.random.default_rng(0)
    base = rng.random(10)
    values = pd.DataFrame({"x": base, "x twin": base, "y": base + 0.5 + 0.01 * rng.random(10)})
    r = rank_methods(values, "lower")
    assert r.best in ("x", "x twin") and r.outcome == AMONG_BEST
    assert set(r.among_best) == {"x", "x twin"} and r.mean_ranks["x"] == r.mean_ranks["x twin"] == 1.5
    assert paired_p(base, base) == 1.0


def test_no_ranking_when_the_methods_do_not_differ():
    rng = np.random.default_rng(1)
    values = pd.DataFrame(rng.normal(size=(10, 4)), columns=list("abcd"))  # no method is better than another
    r = rank_methods(values, "higher")
    assert r.friedman_p > 0.05 and r.outcome == NO_RANKING and r.among_best == list("abcd")
    tied = pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0], "c": [1.0, 2.0]})
    assert rank_methods(tied, "higher").outcome == NO_RANKING and rank_methods(tied, "higher").friedman_p == 1.0


def test_images_with_a_missing_value_are_left_out_and_ranks_average_ties():
    values = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [1.0, 2.0, 1.0]})
    assert rank_methods(values, "higher").images == 2
    assert mean_ranks(pd.DataFrame({"a": [1.0], "b": [1.0], "c": [0.0]}), "higher").tolist() == [1.5, 1.5, 3.0]
    with pytest.raises(ValueError, match="better"):
        rank_methods(values, "up")
