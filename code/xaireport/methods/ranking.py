"""Ranking many methods on the same images, with the comparisons that back it (Demšar, "Statistical Comparisons of
Classifiers over Multiple Data Sets", JMLR 2006: images play the role of his data sets).

:func:`rank_methods` takes one value per image and method and returns a :class:`Ranking`:

1. **Friedman's test** over the methods (scipy ``friedmanchisquare``: per image, the methods ranked; are the mean
   ranks further apart than chance allows?). With p ≥ ``alpha`` there is **no ranking**: these images do not tell
   the methods apart.
2. Otherwise the method with the best mean is compared with every other by a **paired t-test** on the per-image
   differences (two-sided), and the p-values are **Holm-corrected** for the ``k − 1`` comparisons (Demšar's
   comparisons with a control). The methods not significantly worse than the best are **among the best**; when that
   is the best alone, it is **the best**.

The best is chosen by its mean and then compared on the same images; Friedman's test first guards the family of
comparisons (no comparison is read unless the methods differ at all). A method whose values equal the best's on
every image (the same map, under another name) has no difference to test and is always among the best; methods with
equal values get equal mean ranks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

BEST, AMONG_BEST, NO_RANKING = "best", "among the best", "no ranking"


def holm(pvalues: list[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (each ≥ its raw value, monotone in the raw order, at most 1); NaN stays
    NaN and is not counted among the hypotheses."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out


def paired_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided paired t-test p-value of ``a − b`` over images (NaN pairs dropped); 1 when every difference is 0
    (nothing to tell apart), NaN with fewer than two pairs."""
    from scipy import stats

    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    d = d[~np.isnan(d)]
    if len(d) < 2:
        return float("nan")
    if np.all(d == d[0]):
        return 1.0 if d[0] == 0 else 0.0
    return float(stats.ttest_1samp(d, 0.0).pvalue)


def mean_ranks(values: pd.DataFrame, better: str) -> pd.Series:
    """Per method (column), the mean over images (rows) of its rank among the methods on that image (1 = best;
    equal values share the average rank, as in Friedman's test)."""
    r = values.rank(axis=1, ascending=better == "lower", method="average")
    return r.mean(axis=0)


@dataclass(frozen=True)
class Ranking:
    """The ranking of methods on one measure and the tests behind it (see the module docstring)."""

    better: str  # "higher" or "lower"
    means: dict[str, float]  # per method: the mean over images
    mean_ranks: dict[str, float]  # per method: Friedman's mean rank (1 = best)
    images: int  # images with a value for every method
    friedman_p: float  # NaN with fewer than 2 methods or images
    best: str  # the method with the best mean
    p_vs_best: dict[str, float] = field(default_factory=dict)  # Holm-adjusted, per other method
    alpha: float = 0.05

    @property
    def ranked(self) -> bool:
        return not np.isnan(self.friedman_p) and self.friedman_p < self.alpha

    @property
    def among_best(self) -> list[str]:
        """The methods not significantly worse than the best (every method when there is no ranking)."""
        if not self.ranked:
            return list(self.means)
        return [self.best] + [m for m, p in self.p_vs_best.items() if not p < self.alpha]

    @property
    def outcome(self) -> str:
        if not self.ranked:
            return NO_RANKING
        return BEST if self.among_best == [self.best] else AMONG_BEST


def rank_methods(values: pd.DataFrame, better: str, alpha: float = 0.05) -> Ranking:
    """``values``: one row per image, one column per method (images with a missing value are left out).
    ``better``: ``"higher"`` or ``"lower"``."""
    from scipy import stats

    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower', got {better!r}")
    v = values.dropna(axis=0, how="any")
    methods = list(values.columns)
    means = {m: float(v[m].mean()) if len(v) else float("nan") for m in methods}
    ranks = mean_ranks(v, better) if len(v) else pd.Series(np.nan, index=methods)
    best = max(methods, key=lambda m: means[m] if better == "higher" else -means[m])
    p_friedman = float("nan")
    if len(methods) >= 3 and len(v) >= 2:
        if (v.to_numpy() == v.to_numpy()[:, :1]).all():
            p_friedman = 1.0  # every method equal on every image
        else:
            p_friedman = float(stats.friedmanchisquare(*(v[m].to_numpy() for m in methods)).pvalue)
    elif len(methods) == 2 and len(v) >= 2:  # two methods: the paired test is the whole comparison
        p_friedman = paired_p(v[methods[0]].to_numpy(), v[methods[1]].to_numpy())
    others = [m for m in methods if m != best]
    raw = [paired_p(v[best].to_numpy(), v[m].to_numpy()) for m in others]
    adjusted = holm(raw) if others else np.array([])
    p_vs = {m: float(p) for m, p in zip(others, adjusted)}
    return Ranking(better, means, {m: float(ranks[m]) for m in methods}, len(v), p_friedman, best, p_vs, alpha)
