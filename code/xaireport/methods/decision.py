"""How the report decides a claim from its numbers: an effect, its spread, and a third outcome when the margin is
inside the spread.

A claim is "the mean of these per-image values is above (or below) a threshold": "Grad-CAM's rank correlation with
the trained map falls below 0.2" (values: per image, threshold 0.2), "AblationCAM's map is more diffuse than
Grad-CAM's" (values: the per-image differences, threshold 0). :func:`decide` returns

* ``above`` / ``below`` when the two-sided confidence interval of the mean over images (Student's t, ``confidence``)
  lies wholly on that side of the threshold;
* ``undecided`` otherwise, printed as "not decided on N images": fewer than two images, or an interval that
  contains the threshold.

Images are the units. When the values have several randomization seeds (a column each), the seeds are nested in
the images: each image's values are averaged over its seeds first, and the interval is over those image means
(the seeds of one image are not independent samples of the population of images). The seeds' own means are kept
for display, but they do not vote: a rule that needs every seed on the same side costs power without controlling
a stated error rate (issue 34). Images whose every value is NaN are dropped and counted.

What the rule can detect is measured, not assumed: :func:`calibrate` draws per-image values with the spread the
data show (normal, with their standard deviation) and counts how often the rule decides wrongly at the null and
how often it decides a given effect, and :func:`detectable_effect` finds the smallest effect it decides with a
given power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ABOVE, BELOW, UNDECIDED = "above", "below", "undecided"


@dataclass(frozen=True)
class Decision:
    """The outcome of one claim and the numbers it was decided on."""

    outcome: str  # ABOVE, BELOW or UNDECIDED
    threshold: float
    mean: float  # mean over images (of each image's mean over seeds)
    low: float  # the confidence interval of ``mean``
    high: float
    std: float  # standard deviation over images
    seed_means: tuple[float, ...]  # the mean over images of each seed (one entry without seeds); display only
    images: int  # images with a value
    dropped: int  # images without one (all NaN)
    confidence: float = 0.95  # the interval's confidence level

    @property
    def decided(self) -> bool:
        return self.outcome != UNDECIDED

    def describe(self, digits: int = 2) -> str:
        """``0.35 (95% CI 0.03 to 0.66, 3 images)`` (the level is the decision's), plus the seed range when there
        are several seeds."""
        f = f"{{:.{digits}f}}"
        if self.images < 2:
            return f"{f.format(self.mean)} ({self.images} image, no interval)"
        interval = f"{self.confidence:.0%} CI {f.format(self.low)} to {f.format(self.high)}"
        text = f"{f.format(self.mean)} ({interval}, {self.images} images"
        if len(self.seed_means) > 1:
            text += f", seed means {f.format(min(self.seed_means))} to {f.format(max(self.seed_means))}"
        return text + ")"

    def not_decided(self) -> str:
        """``not decided on 3 images`` (``1 image``): the short form of :meth:`undecided_reason`, for a table cell or
        a headline (empty when there is a decision)."""
        if self.decided:
            return ""
        return f"not decided on {self.images} image{'s' if self.images != 1 else ''}"

    def undecided_reason(self) -> str:
        """Why there is no decision (empty when there is one): :meth:`not_decided` and its cause."""
        if self.decided or self.images < 2:
            return self.not_decided()
        return f"{self.not_decided()}: the interval contains {self.threshold:g}"


def _nanmean_columns(v: np.ndarray) -> np.ndarray:
    """Each column's mean over its values (NaN for a column without one, silently: a seed whose every map was
    constant)."""
    counts = (~np.isnan(v)).sum(axis=0)
    sums = np.nansum(v, axis=0)
    return np.divide(sums, counts, out=np.full(v.shape[1], np.nan), where=counts > 0)


def decide(values: np.ndarray | list, threshold: float = 0.0, confidence: float = 0.95) -> Decision:
    """Decide whether the mean of ``values`` (one row per image; columns: seeds, optional) is above or below
    ``threshold`` (see the module docstring)."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2:
        raise ValueError(f"values must be 1-D (images) or 2-D (images x seeds), got shape {v.shape}")
    keep = ~np.all(np.isnan(v), axis=1)
    dropped = int((~keep).sum())
    v = v[keep]
    n = len(v)
    if n == 0:
        nan = float("nan")
        return Decision(UNDECIDED, threshold, nan, nan, nan, nan, (), 0, dropped, confidence)
    per_image = np.nanmean(v, axis=1)  # every kept row has a value
    mean = float(per_image.mean())
    seed_means = tuple(float(x) for x in _nanmean_columns(v))
    if n < 2:
        return Decision(UNDECIDED, threshold, mean, mean, mean, 0.0, seed_means, n, dropped, confidence)
    std = float(per_image.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / np.sqrt(n)
    low, high = mean - half, mean + half
    outcome = ABOVE if low > threshold else BELOW if high < threshold else UNDECIDED
    return Decision(outcome, threshold, mean, low, high, std, seed_means, n, dropped, confidence)


def outcomes(samples: np.ndarray, threshold: float, confidence: float = 0.95) -> np.ndarray:
    """:func:`decide`'s outcome for each row of ``samples`` (draws × images, no NaN) at once: +1 above, −1 below,
    0 undecided. The simulation's vectorised form of the rule (tested equal to :func:`decide`)."""
    from scipy import stats

    x = np.asarray(samples, dtype=np.float64)
    n = x.shape[1]
    if n < 2:
        return np.zeros(len(x), dtype=int)
    mean, sd = x.mean(axis=1), x.std(axis=1, ddof=1)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n)
    return np.where(mean - half > threshold, 1, np.where(mean + half < threshold, -1, 0))


@dataclass(frozen=True)
class Calibration:
    """How :func:`decide` behaves on per-image values like the measured ones (:func:`calibrate`)."""

    images: int
    draws: int
    threshold: float
    wrong_at_null: float  # share of draws at the null (true mean 0) decided "above" the threshold
    right_at_null: float  # share of those decided "below" (the null is the below side)
    effect: float  # the effect the power is given for (true mean)
    power: float  # share of draws at ``effect`` decided "above"
    detectable: float  # the smallest true mean decided "above" in ``target_power`` of the draws
    target_power: float


def _draws(spread: np.ndarray, n: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` × ``n`` values with mean 0 and the standard deviation of ``spread`` (the measured per-image values;
    normal draws: resampling a handful of values would often draw the same one ``n`` times, an interval of width 0
    that decides anything)."""
    v = np.asarray(spread, np.float64)
    v = v[~np.isnan(v)]
    sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return rng.normal(0.0, sd, size=(draws, n))


def detectable_effect(
    spread: np.ndarray,
    images: int,
    threshold: float,
    power: float = 0.8,
    draws: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> float:
    """The smallest true mean that :func:`decide` (``images`` per-image values drawn with the spread of ``spread``,
    shifted by the mean) decides "above" ``threshold`` in at least ``power`` of ``draws`` draws; by bisection on
    common random numbers (the same draws for every candidate, so the power is monotone in it)."""
    base = _draws(spread, images, draws, np.random.default_rng(seed))
    if images < 2:
        return float("inf")

    def share(mean: float) -> float:
        return float((outcomes(base + mean, threshold, confidence) == 1).mean())

    low, high = threshold, threshold + 1.0
    while share(high) < power:
        low, high = high, high + 2 * (high - threshold)
        if high - threshold > 1e6:
            return float("inf")
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (low, mid) if share(mid) >= power else (mid, high)
    return high


def calibrate(
    spread: np.ndarray,
    images: int,
    threshold: float,
    effect: float,
    draws: int = 2000,
    seed: int = 0,
    power: float = 0.8,
    confidence: float = 0.95,
) -> Calibration:
    """Simulate the rule on ``images`` per-image values drawn with the standard deviation of ``spread`` (the
    per-image values the data show) and no effect: at the null (true mean 0, below a positive ``threshold``) count
    the wrong decisions ("above") and the right ones ("below"); at a true mean of ``effect`` the share decided
    "above" (the power); and :func:`detectable_effect` at ``power``."""
    rng = np.random.default_rng(seed)
    null = outcomes(_draws(spread, images, draws, rng), threshold, confidence)
    shifted = outcomes(_draws(spread, images, draws, rng) + effect, threshold, confidence)
    return Calibration(
        images=images,
        draws=draws,
        threshold=threshold,
        wrong_at_null=float((null == 1).mean()),
        right_at_null=float((null == -1).mean()),
        effect=effect,
        power=float((shifted == 1).mean()),
        detectable=detectable_effect(spread, images, threshold, power, draws, seed + 1, confidence),
        target_power=power,
    )
