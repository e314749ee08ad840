"""Chapter 6's measures of an explanation method, beyond ROAD (:mod:`.faithfulness`) and the cascading
randomization (:mod:`.sanity`): each a function of maps and model outputs, tested on hand-computed values.

* :func:`deletion_insertion` — faithfulness, RISE's causal metrics (Petsiuk et al., 2018): pixels are deleted
  (set to black) or inserted (into a blurred copy) in the map's order, most relevant first, and the area under
  the class probability is taken over the fraction changed. Deletion: lower is more faithful; insertion: higher.
* :func:`max_sensitivity` — robustness (Yeh et al., 2019, as Quantus' ``MaxSensitivity``): the largest relative
  change ‖Φ(x) − Φ(x + δ)‖ / ‖Φ(x)‖ (Frobenius norms of max-normalised maps) over uniform noise draws δ.
* :func:`random_logit_similarity` — model dependence (Sixt et al., 2020, as Quantus' ``RandomLogit``): the
  similarity of the map for the explained class to the map for a random other class; a map that does not depend
  on the class scores 1.
* :func:`gini` — complexity, sparseness (Chalasani et al., 2020, as Quantus' ``Sparseness``): the Gini index of the
  map's absolute values (0: uniform, → 1: all on few pixels), the definition chapter 2 uses.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xaireport.methods.agreement import ranking


def normalise(m: np.ndarray) -> np.ndarray:
    """A map divided by its largest absolute value (Quantus' ``normalise_by_max``); a zero map stays zero."""
    m = np.asarray(m, dtype=np.float64)
    top = np.abs(m).max()
    return m / top if top > 0 else m


def gini(m: np.ndarray) -> float:
    """The Gini index of ``|m|`` (Quantus ``Sparseness``): ``nan`` for an all-zero map."""
    x = np.sort(np.abs(np.asarray(m, dtype=np.float64)).ravel())
    n, total = x.size, x.sum()
    if total <= 0:
        return float("nan")
    return float(((2 * np.arange(1, n + 1) - n - 1) * x).sum() / (n * total))


def blur(crop: np.ndarray, sigma: float = 5.0) -> np.ndarray:
    """RISE's insertion substrate: the crop blurred by a Gaussian (σ = 5 pixels, RISE's ``klen=11, ksig=5``)."""
    from scipy.ndimage import gaussian_filter

    return np.clip(gaussian_filter(crop.astype(np.float64), sigma=(sigma, sigma, 0)), 0, 255).round().astype(np.uint8)


def causal_images(crop: np.ndarray, saliency: np.ndarray, steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The ``steps + 1`` deletion and insertion images (fractions 0, 1/steps, …, 1 of the pixels changed, most
    relevant first by ``saliency``, ties in a seeded random order), each ``(steps + 1) × H × W × 3`` uint8."""
    h, w = saliency.shape
    order = ranking(saliency, seed)
    start_del, start_ins = crop.reshape(h * w, 3), blur(crop).reshape(h * w, 3)
    deletion = np.empty((steps + 1, h * w, 3), np.uint8)
    insertion = np.empty((steps + 1, h * w, 3), np.uint8)
    for i in range(steps + 1):
        k = int(round(i / steps * h * w))
        d, ins = start_del.copy(), start_ins.copy()
        d[order[:k]] = 0
        ins[order[:k]] = start_del[order[:k]]
        deletion[i], insertion[i] = d, ins
    return deletion.reshape(steps + 1, h, w, 3), insertion.reshape(steps + 1, h, w, 3)


def auc(probabilities: np.ndarray) -> float:
    """Area under a probability curve sampled at equally spaced fractions of [0, 1] (trapezoid rule)."""
    p = np.asarray(probabilities, dtype=np.float64)
    return float(((p[:-1] + p[1:]) / 2).mean())


def deletion_insertion(
    probability: Callable[[np.ndarray], np.ndarray], crop: np.ndarray, saliency: np.ndarray, steps: int, seed: int = 0
) -> tuple[float, float]:
    """(deletion AUC, insertion AUC) of ``saliency`` on ``crop``; ``probability``: a batch of crops → the explained
    class's probability for each."""
    deletion, insertion = causal_images(crop, saliency, steps, seed)
    p = probability(np.concatenate([deletion, insertion]))
    return auc(p[: steps + 1]), auc(p[steps + 1 :])


def uniform_noise(image: np.ndarray, radius: float, rng: np.random.Generator) -> np.ndarray:
    """The image plus uniform noise in [−radius, radius] of the 0–255 range, rounded and clipped to uint8."""
    noise = rng.uniform(-radius, radius, image.shape) * 255
    return np.clip(image.astype(np.float64) + noise, 0, 255).round().astype(np.uint8)


def max_sensitivity(
    explain: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    samples: int,
    radius: float,
    seed: int = 0,
    base: np.ndarray | None = None,
) -> float:
    """max over ``samples`` noisy copies of ‖Φ(x) − Φ(x + δ)‖ / ‖Φ(x)‖ of the max-normalised maps (``explain``: an
    image → its map); ``nan`` when the map of ``image`` is zero. ``base``: Φ(x) when already computed (as Quantus
    takes the explanation under test, ``a_batch``); otherwise ``explain(image)``."""
    base = normalise(explain(image) if base is None else base)
    denominator = np.linalg.norm(base)
    if denominator == 0:
        return float("nan")
    rng = np.random.default_rng(seed)
    changes = [np.linalg.norm(base - normalise(explain(uniform_noise(image, radius, rng)))) for _ in range(samples)]
    return float(max(changes) / denominator)


def random_logit_similarity(explained: np.ndarray, other: np.ndarray) -> float:
    """The paper-style SSIM (:func:`xaireport.methods.sanity.ssim`) of the map for the explained class and the map
    for another class: 1 = the same map whatever the class."""
    from xaireport.methods.sanity import ssim

    return ssim(explained, other)


def other_class(explained: int, classes: int, seed: int = 0) -> int:
    """A class other than ``explained``, drawn uniformly with ``seed`` (Quantus' ``RandomLogit``)."""
    rng = np.random.default_rng(seed)
    c = int(rng.integers(0, classes - 1))
    return c if c < explained else c + 1
