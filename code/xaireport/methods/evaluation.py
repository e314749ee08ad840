"""Chapter 6's measures of an explanation method, beyond ROAD (:mod:`.faithfulness`) and the cascading
randomization (:mod:`.sanity`): each a function of maps and model outputs, tested on hand-computed values.

* :func:`causal_auc` — faithfulness, RISE's causal metrics (Petsiuk et al., 2018) as RISE's code makes them:
  pixels are deleted (set to its substrate ``zeros_like`` of the normalised input: the dataset's mean colour) or
  inserted (into the input blurred by its ``gkern(11, 5)`` kernel) in the map's order, most relevant first, and
  the area under the class probability is taken over the fraction changed. Deletion: lower is more faithful;
  insertion: higher.
* :func:`max_sensitivity` — robustness (Yeh et al., 2019, as Quantus' ``MaxSensitivity``): the largest relative
  change ‖Φ(x) − Φ(x + δ)‖ / ‖Φ(x)‖ (Frobenius norms of max-normalised maps) over uniform noise draws δ on the
  model's input (``xaireport.results.measures``).
* :func:`random_logit_similarity` — model dependence (Sixt et al., 2020, as Quantus' ``RandomLogit``): the
  similarity of the map for the explained class to the map for a random other class (drawn per image); a map that
  does not depend on the class scores 1.
* :func:`gini` — complexity, sparseness (Chalasani et al., 2020, as Quantus' ``Sparseness``): the Gini index of the
  map's absolute values (0: uniform, → 1: all on few pixels), the definition chapter 2 uses.
"""

from __future__ import annotations

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


def rise_kernel(klen: int = 11, nsig: float = 5.0) -> np.ndarray:
    """RISE's blur kernel (``gkern`` of Petsiuk et al.'s code): a centred delta on a ``klen`` × ``klen`` grid
    filtered by scipy's ``gaussian_filter`` with σ = ``nsig`` (its default ``reflect`` border, as RISE calls it)."""
    from scipy.ndimage import gaussian_filter

    delta = np.zeros((klen, klen))
    delta[klen // 2, klen // 2] = 1.0
    return gaussian_filter(delta, nsig)


def blur(x, klen: int = 11, nsig: float = 5.0):
    """RISE's insertion substrate: the normalised input (N×3×H×W tensor) convolved channel by channel with
    :func:`rise_kernel`, zero padding (``nn.functional.conv2d(x, gkern(11, 5), padding=11 // 2)``)."""
    import torch

    k = torch.from_numpy(rise_kernel(klen, nsig).astype(np.float32)).to(x.device)
    weight = torch.zeros(3, 3, klen, klen, device=x.device)
    for c in range(3):
        weight[c, c] = k
    return torch.nn.functional.conv2d(x.float(), weight, padding=klen // 2)


def causal_inputs(x, saliency: np.ndarray, mode: str, steps: int, seed: int = 0):
    """The ``steps + 1`` inputs of RISE's causal metric on the normalised input ``x`` (1×3×H×W): fractions 0,
    1/steps, …, 1 of the pixels changed, most relevant first by ``saliency`` (ties in a seeded random order).
    ``deletion`` sets them to RISE's substrate ``torch.zeros_like`` (the dataset's mean colour in normalised
    units); ``insertion`` starts from :func:`blur` and copies them in."""
    import torch

    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be deletion or insertion, got {mode!r}")
    _, c, h, w = x.shape
    order = torch.from_numpy(np.array(ranking(saliency, seed), dtype=np.int64))
    image = x[0].reshape(c, h * w)
    substrate = torch.zeros_like(image) if mode == "deletion" else blur(x)[0].reshape(c, h * w)
    start, finish = (image, substrate) if mode == "deletion" else (substrate, image)
    out = start.expand(steps + 1, c, h * w).clone()
    for i in range(1, steps + 1):
        k = int(round(i / steps * h * w))
        idx = order[:k]
        out[i][:, idx] = finish[:, idx]
    return out.reshape(steps + 1, c, h, w)


def auc(probabilities: np.ndarray) -> float:
    """Area under a probability curve sampled at equally spaced fractions of [0, 1] (trapezoid rule; RISE's
    ``auc``)."""
    p = np.asarray(probabilities, dtype=np.float64)
    return float(((p[:-1] + p[1:]) / 2).mean())


def causal_auc(model, x, saliency: np.ndarray, class_index: int, mode: str, steps: int, seed: int = 0) -> float:
    """RISE's deletion or insertion AUC of ``saliency`` for ``class_index`` (softmax probability), the inputs of
    :func:`causal_inputs` run through ``model`` in batches of 16."""
    import torch

    batch = causal_inputs(x, saliency, mode, steps, seed)
    probs = []
    with torch.inference_mode():
        for i in range(0, len(batch), 16):
            logits = model(batch[i : i + 16].to(x.device))
            probs.append(torch.softmax(logits.float(), dim=1)[:, class_index].cpu().numpy())
    return auc(np.concatenate(probs))


def max_sensitivity(noisy: list[np.ndarray], base: np.ndarray) -> float:
    """max over the maps of noisy inputs of ‖Φ(x) − Φ(x + δ)‖ / ‖Φ(x)‖ (Frobenius norms of max-normalised maps,
    Quantus' ``MaxSensitivity``); ``base`` is Φ(x) (Quantus takes the explanation under test, ``a_batch``); ``nan``
    when it is zero or there is no noisy map."""
    b = normalise(base)
    denominator = np.linalg.norm(b)
    if denominator == 0 or not noisy:
        return float("nan")
    return float(max(np.linalg.norm(b - normalise(m)) for m in noisy) / denominator)


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
