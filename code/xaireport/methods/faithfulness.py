"""Faithfulness of a saliency map: ROAD (Rong et al., 2022) with exact removal fractions.

Pixels are removed in order of the map's relevance and filled by the ``grad-cam`` package's noisy linear
imputation (a removed pixel is interpolated from its neighbours plus a little noise, so the model does not see
a sharp hole); the class's softmax probability is recorded before and after.

* ``road``: mean over removal fractions of (LeRF − MoRF) / 2: the probability change when the least relevant
  pixels are removed minus the change when the most relevant are removed. Higher is more faithful.
* ``drop``: the probability lost when the top ``remove_fraction`` of pixels by the map are removed
  (MoRF at one fraction). Higher means the map found pixels the decision depends on.

**Deviation from the package** (``pytorch_grad_cam.metrics.road``): the package removes the pixels with
``map ≥ percentile(map, p)``, so pixels with tied values all go or all stay: on a Grad-CAM map that is exactly
0 on 10.7 % of the image, "remove the 90 % most relevant" removes 100 %. Here each fraction removes exactly
``round(fraction × pixels)`` pixels, ranked by the map with a seeded random order among ties
(:func:`xaireport.methods.agreement.ranking`). On a map without ties the two remove the same pixels (tested),
up to one pixel where ``p·(N − 1)`` is an integer (``np.percentile`` then lands exactly on a value and the
package removes one pixel more).
Percentiles are the package's: percentile ``p`` removes the ``100 − p`` % most (MoRF) or least (LeRF)
relevant pixels.
"""

from __future__ import annotations

import numpy as np
import torch
from pytorch_grad_cam.metrics.perturbation_confidence import PerturbationConfidenceMetric
from pytorch_grad_cam.metrics.road import NoisyLinearImputer, neighbors_weights
from scipy.sparse import csc_matrix
from scipy.sparse.linalg import spsolve

from xaireport.methods.agreement import ranking
from xaireport.models import Classifier


def removal_mask(saliency: np.ndarray, fraction: float, most_relevant: bool, seed: int = 0) -> np.ndarray:
    """Boolean map of exactly ``round(fraction × pixels)`` pixels to remove: the most (or least) relevant by
    ``saliency``, ties in a random order seeded by ``seed``."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    order = ranking(saliency, seed)
    if not most_relevant:
        order = order[::-1]
    k = int(round(fraction * order.size))
    out = np.zeros(order.size, dtype=bool)
    out[order[:k]] = True
    return out.reshape(np.shape(saliency))


def system(mask: np.ndarray, img: np.ndarray) -> tuple[csc_matrix, np.ndarray]:
    """The noisy linear imputer's equation system (``NoisyLinearImputer.setup_sparse_system``): the same matrix,
    built as coordinates in one step instead of by assignment into a ``lil_matrix`` (40 % of the imputer's time on
    a 224 × 224 image; tested equal entry by entry)."""
    maskflt = mask.flatten()
    imgflat = img.reshape((img.shape[0], -1))
    indices = np.argwhere(maskflt == 0).flatten()
    coords_to_vidx = np.zeros(len(maskflt), dtype=int)
    coords_to_vidx[indices] = np.arange(len(indices))
    n = len(indices)
    b = np.zeros((n, img.shape[0]))
    sum_neighbors = np.ones(n)
    rows, cols, vals = [], [], []
    for offset, weight in neighbors_weights:
        valid, new_coords = NoisyLinearImputer.add_offset_to_indices(indices, offset, mask.shape)
        valid_coords = new_coords[valid]
        valid_ids = np.argwhere(valid == 1).flatten()
        known = maskflt[valid_coords] > 0.5
        b[valid_ids[known], :] -= weight * imgflat[:, valid_coords[known]].T
        unknown = maskflt[valid_coords] < 0.5
        rows.append(valid_ids[unknown])
        cols.append(coords_to_vidx[valid_coords[unknown]])
        vals.append(np.full(int(unknown.sum()), weight))
        sum_neighbors[~valid] -= weight
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(-sum_neighbors)
    a = csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return a, b


def impute(img: torch.Tensor, mask: torch.Tensor, noise: float = 0.01) -> torch.Tensor:
    """``NoisyLinearImputer()(img, mask)`` (1 = keep, 0 = impute), with :func:`system`; the same noise draw."""
    imgflt = img.reshape(img.shape[0], -1)
    indices = np.argwhere(mask.reshape(-1).numpy() == 0).flatten()
    a, b = system(mask.numpy(), img.numpy())
    res = torch.tensor(spsolve(a, b), dtype=torch.float)
    out = imgflt.clone()
    out[:, indices] = res.t() + noise * torch.randn_like(res.t())
    return out.reshape_as(img)


class ExactRemoval:
    """A ``grad-cam`` perturbation (as ``RemoveMostRelevantFirst``) that removes an exact number of pixels."""

    def __init__(self, fraction: float, most_relevant: bool, seed: int = 0):
        self.fraction, self.most_relevant, self.seed = fraction, most_relevant, seed

    def __call__(self, input_tensor: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
        removed = removal_mask(cam.cpu().numpy(), self.fraction, self.most_relevant, self.seed)
        # The imputer's convention: 1 = keep, 0 = impute.
        return impute(input_tensor, torch.from_numpy((~removed).astype(np.float32)))


def change(
    classifier: Classifier,
    x: torch.Tensor,
    cams: np.ndarray,
    targets: list,
    fraction: float,
    most_relevant: bool,
    seed: int,
) -> float:
    """Probability change after removing ``fraction`` of the pixels (the package's metric, our removal)."""
    torch.manual_seed(seed)  # the imputation's noise
    metric = PerturbationConfidenceMetric(ExactRemoval(fraction, most_relevant, seed))
    return float(metric(x, cams, targets, classifier.model)[0])


def perturbed(x: torch.Tensor, cam: np.ndarray, fraction: float, most_relevant: bool, seed: int) -> torch.Tensor:
    """The input ``x`` (batch of one) after :class:`ExactRemoval`, with the imputation noise :func:`change` draws."""
    torch.manual_seed(seed)  # the imputation's noise
    return ExactRemoval(fraction, most_relevant, seed)(x[0].cpu(), torch.from_numpy(cam))[None].to(x.device)


def scores(
    classifier: Classifier,
    crop: np.ndarray,
    heatmap: np.ndarray,
    class_index: int,
    *,
    percentiles: list[int],
    remove_fraction: float,
    seed: int = 0,
) -> dict[str, float]:
    """ROAD combined score over ``percentiles`` and the probability drop after removing the top
    ``remove_fraction`` of pixels. ``seed`` drives the tie-break and the imputation noise.

    Each value is :func:`change` (the package's ``PerturbationConfidenceMetric``) at one fraction; instead of
    that metric's two batch-of-one passes per fraction (the unperturbed input again every time), the
    unperturbed input and every perturbed one go through the model as one batch without autograd: the same
    numbers up to float rounding (tested), 2 × len(percentiles) + 1 perturbations in one pass.
    """
    x = classifier.to_input(crop)
    cam = heatmap.astype(np.float32)
    fractions = [(100 - p) / 100 for p in percentiles]
    plan = [(f, True) for f in fractions] + [(f, False) for f in fractions] + [(remove_fraction, True)]
    batch = torch.cat([x, *(perturbed(x, cam, f, most, seed) for f, most in plan)])
    with torch.inference_mode():
        probs = torch.softmax(classifier.model(batch).float(), dim=-1)[:, class_index].cpu().numpy()
    changes = probs[1:] - probs[0]
    n = len(fractions)
    morf, lerf, drop = changes[:n].mean(), changes[n : 2 * n].mean(), -changes[-1]
    return {"road": float((lerf - morf) / 2), "drop": float(drop)}
