"""How the report decides a claim from its numbers: an effect, its spread, and a third outcome when the margin is
inside the spread.

A claim is "the mean of these per-image values is above (or below) a threshold": "Grad-CAM's rank correlation with
the trained map falls below 0.2" (values: per image, threshold 0.2), "AblationCAM's map is more diffuse than
Grad-CAM's" (values: the per-image differences, threshold 0). :func:`decide` returns

* ``above`` / ``below`` when the two-sided confidence interval of the mean over images (Student's t, ``confidence``)
  lies wholly on that side of the threshold **and**, when the values have several randomization seeds (a column
  each), every seed's mean over images lies on that side too, so that another seed cannot turn the claim over;
* ``undecided`` otherwise, printed as "not decided on N images": fewer than two images, an interval that contains
  the threshold, or seeds that disagree.

Images are the unit of the interval (seeds of one image are not independent samples of the population of images);
images whose every value is NaN (a constant map has no rank correlation) are dropped and counted.
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
    seed_means: tuple[float, ...]  # the mean over images of each seed (one entry without seeds)
    images: int  # images with a value
    dropped: int  # images without one (all NaN)

    @property
    def decided(self) -> bool:
        return self.outcome != UNDECIDED

    def describe(self, digits: int = 2) -> str:
        """``0.35 (95% CI 0.03 to 0.66, 3 images)``, plus the seed range when there are several seeds."""
        f = f"{{:.{digits}f}}"
        if self.images < 2:
            return f"{f.format(self.mean)} ({self.images} image, no interval)"
        text = f"{f.format(self.mean)} (CI {f.format(self.low)} to {f.format(self.high)}, {self.images} images"
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
        if self.low <= self.threshold <= self.high:
            return f"{self.not_decided()}: the interval contains {self.threshold:g}"
        return f"{self.not_decided()}: the randomization seeds disagree"


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
        return Decision(UNDECIDED, threshold, nan, nan, nan, nan, (), 0, dropped)
    per_image = np.nanmean(v, axis=1)  # every kept row has a value
    mean = float(per_image.mean())
    seed_means = tuple(float(x) for x in _nanmean_columns(v))
    if n < 2:
        return Decision(UNDECIDED, threshold, mean, mean, mean, 0.0, seed_means, n, dropped)
    std = float(per_image.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / np.sqrt(n)
    low, high = mean - half, mean + half
    if low > threshold and all(m > threshold for m in seed_means):
        outcome = ABOVE
    elif high < threshold and all(m < threshold for m in seed_means):
        outcome = BELOW
    else:
        outcome = UNDECIDED
    return Decision(outcome, threshold, mean, low, high, std, seed_means, n, dropped)
