"""CLIP-Dissect's similarity functions (Oikarinen & Weng, ICLR 2023), vectorised.

Inputs, as in the paper's code: ``P`` (N images × M concepts), the CLIP image–text similarities of the probe
images (L2-normalised embeddings, ``P = image_features @ text_features.T``), and ``A`` (N × K), the activation
of each of K units on each image. Each function returns a K × M similarity; a unit's label is the argmax
concept and its score the max.

The formulas are those of the paper's ``similarity.py``; where that code loops over units in Python, we
process blocks of units at once (the block size bounds memory: ``top_k × block × M`` floats).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from xaireport.core.errors import UserError

_BLOCK_FLOATS = 64_000_000  # ~256 MB of float32 per block of units


def _unit_blocks(k_units: int, top_k: int, m: int) -> tuple[range, int]:
    block = max(1, _BLOCK_FLOATS // max(1, top_k * m))
    return range(0, k_units, block), block


def _pmi(
    probs: torch.Tensor, acts: torch.Tensor, top_k: int, lam: float, min_prob: float, p_in: torch.Tensor | None
) -> torch.Tensor:
    """Shared body of WPMI and soft-WPMI: log p(concept | top-k images of the unit) − λ log p(concept)."""
    top_k = min(top_k, acts.shape[0])
    inds = torch.topk(acts, k=top_k, dim=0).indices  # top_k × K
    k_units, m = acts.shape[1], probs.shape[1]
    out = torch.empty(k_units, m, dtype=probs.dtype, device=probs.device)
    starts, block = _unit_blocks(k_units, top_k, m)
    for s in starts:
        idx = inds[:, s : s + block].to(probs.device)  # top_k × B
        g = probs[idx.reshape(-1)].reshape(idx.shape[0], idx.shape[1], m)  # top_k × B × M
        if p_in is not None:
            g = 1 + p_in.view(-1, 1, 1) * (g - 1)
        out[s : s + block] = torch.log(g + min_prob).sum(dim=0)
    prob_d = torch.logsumexp(out, dim=0, keepdim=True) - math.log(out.shape[0])
    return out - lam * prob_d


def soft_wpmi(
    P: torch.Tensor,
    A: torch.Tensor,
    top_k: int = 100,
    a: float = 10,
    lam: float = 1,
    min_prob: float = 1e-7,
    p_start: float = 0.998,
    p_end: float = 0.97,
) -> torch.Tensor:
    """SoftWPMI, CLIP-Dissect's default.

    With ``p = softmax(a · P)`` over concepts and the unit's ``top_k`` most activating images weighted
    ``p_in`` from ``p_start`` down to ``p_end``: ``log p(c | E) = Σ_i log(1 + p_in,i (p(c | x_i) − 1) + min_prob)``
    and the score is ``log p(c | E) − λ log mean_units p(c | E)``.
    """
    with torch.no_grad():
        probs = torch.softmax(a * P.float(), dim=1)
        top_k = min(top_k, A.shape[0])
        p_in = p_start - torch.arange(top_k, dtype=probs.dtype, device=probs.device) / top_k * (p_start - p_end)
        return _pmi(probs, A.float(), top_k, lam, min_prob, p_in)


def wpmi(
    P: torch.Tensor, A: torch.Tensor, top_k: int = 28, a: float = 2, lam: float = 0.6, min_prob: float = 1e-7
) -> torch.Tensor:
    """WPMI: ``Σ_{i ∈ top_k} log(p(c | x_i) + min_prob) − λ log mean_units(...)`` with ``p = softmax(a · P)``."""
    with torch.no_grad():
        probs = torch.softmax(a * P.float(), dim=1)
        return _pmi(probs, A.float(), top_k, lam, min_prob, None)


def cos_similarity_cubed(P: torch.Tensor, A: torch.Tensor, min_norm: float = 1e-3) -> torch.Tensor:
    """Cosine similarity of the mean-centred, cubed columns of ``A`` and ``P`` (norms clipped at ``min_norm``)."""
    with torch.no_grad():
        p = (P.float() - P.float().mean(dim=0, keepdim=True)) ** 3
        t = (A.float() - A.float().mean(dim=0, keepdim=True)) ** 3
        p = p / torch.clip(torch.norm(p, p=2, dim=0, keepdim=True), min_norm)
        t = t / torch.clip(torch.norm(t, p=2, dim=0, keepdim=True), min_norm)
        return t.T @ p


def cos_similarity(P: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of the columns of ``A`` (units) and ``P`` (concepts) over the probe images."""
    with torch.no_grad():
        p = P.float() / torch.norm(P.float(), p=2, dim=0, keepdim=True)
        t = A.float() / torch.norm(A.float(), p=2, dim=0, keepdim=True)
        return t.T @ p


SIMILARITIES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "soft_wpmi": soft_wpmi,
    "wpmi": wpmi,
    "cos_similarity_cubed": cos_similarity_cubed,
    "cos_similarity": cos_similarity,
}


def similarity_function(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The similarity function called ``name``.

    Raises:
        UserError: no such similarity (names the choices).
    """
    if name not in SIMILARITIES:
        raise UserError(f"unknown similarity {name!r}: choose from {', '.join(SIMILARITIES)}")
    return SIMILARITIES[name]


def describe(similarity: torch.Tensor, concepts: list[str]) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """Each unit's label (argmax concept), its score (the max), and the index of the concept."""
    vals, ids = similarity.max(dim=1)
    return [concepts[int(i)] for i in ids], vals, ids
