"""Chapter 3's seed-stability numbers (``xaireport.report.lime``): how far LIME's explanations of one image agree
across seeds (:func:`stability`), from the cached explanations; nothing here is cached."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from xaireport.methods.agreement import iou
from xaireport.methods.explanations import LimeResult


def stability(by_seed: list[LimeResult]) -> dict[str, float | int | bool]:
    """One image's LIME explanations with several seeds (the first is the report's): their number, the mean and
    smallest pairwise Jaccard index of the top-k masks, the mean, std and range of the surrogate's R², and whether
    every seed explained the same class.

    Masks are compared pixel-wise, which equals the Jaccard index of the top-k segment sets when the
    segmentations agree (quickshift is seeded too, so they can differ slightly across seeds).
    """
    pairs = [iou(a.mask, b.mask) for a, b in combinations(by_seed, 2)]  # Jaccard index = IoU
    r2 = np.array([x.r2 for x in by_seed])
    return {
        "seeds": len(by_seed),
        "mean Jaccard": float(np.mean(pairs)) if pairs else float("nan"),
        "min Jaccard": float(np.min(pairs)) if pairs else float("nan"),
        "R² mean": r2.mean(),
        "R² std": r2.std(ddof=1) if len(r2) > 1 else float("nan"),
        "R² range": r2.max() - r2.min(),
        "same class": all(x.class_index == by_seed[0].class_index for x in by_seed),
    }
