"""How spread out a map is (chapter 2's "diffuse or sharp?"): :func:`spread` — the area at or above 0.5, the
normalised entropy and the Gini coefficient of a map with values in [0, 1]."""

from __future__ import annotations

import numpy as np

from xaireport.methods.evaluation import gini


def spread(m: np.ndarray) -> dict[str, float]:
    """How spread out one map (values in [0, 1]) is: the fraction of pixels at or above 0.5, the entropy of the
    map as a distribution over pixels divided by its maximum log N (1 = uniform, i.e. fully diffuse), and the
    Gini coefficient of its values (:func:`xaireport.methods.evaluation.gini`, chapter 6's sparseness: 0 = uniform,
    → 1 = all mass on few pixels, i.e. sharp). An all-zero map has area 0 and no entropy or Gini (``nan``)."""
    x = np.asarray(m, dtype=np.float64).ravel()
    total = x.sum()
    if total <= 0:
        return {"area ≥ 0.5": 0.0, "entropy": float("nan"), "Gini": float("nan")}
    p = x / total
    nz = p[p > 0]
    entropy = float(-(nz * np.log(nz)).sum() / np.log(x.size))
    return {"area ≥ 0.5": float((x >= 0.5).mean()), "entropy": entropy, "Gini": gini(x)}
