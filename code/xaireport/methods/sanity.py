"""Model-parameter randomization (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018).

A saliency method that explains the *model* must give a different map once the model's weights are
replaced by random ones; a map that barely changes explains the image, not the model.

* :func:`blocks` lists a classifier's blocks from the output down (the cascade order): ResNet ``fc``, each
  bottleneck of ``layer4`` … ``layer1``, then ``conv1`` (with ``bn1``); EfficientNet-Lite0 (timm) ``classifier``,
  ``conv_head`` (with ``bn2``), ``blocks.6`` … ``blocks.0``, then ``conv_stem`` (with ``bn1``). Any other
  network (``timm:``/``torchvision:`` models): its parameterised top-level modules from the last to the first,
  with ``nn.Sequential``/``nn.ModuleList`` containers opened into their members (``stages.3`` … ``stages.0``,
  ``features.12`` …); parameters held directly by the model (a ViT's class token and position embedding) stay.
* :func:`randomize` returns a new classifier (a deep copy; the original is never touched) whose named blocks are
  re-initialised with the initialisation the architecture itself uses: torchvision's ResNet init (convolutions
  ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``, BatchNorm weight 1 and bias 0, linear layers their
  default ``reset_parameters``) or timm's EfficientNet init (``_init_weight_goog``); BatchNorm running statistics
  are reset to mean 0 and variance 1. Other networks: every layer's own PyTorch ``reset_parameters()``.
  Each block's random weights depend only on the seed and the block, so
  the cascade and the independent randomization put the *same* random weights into a block.
* Similarity of a map to the trained model's map, as the paper's notebook measures it: Spearman rank correlation
  (signed, and of absolute values), SSIM and HOG similarity of the min-max scaled maps, and for LIME the Jaccard
  index of the top-k superpixel sets on the same segmentation.
* The paper's edge-detector baseline (its Figure 1): :func:`edge_map` is the Sobel gradient magnitude of the image
  the model sees, and :func:`edge_similarity` the rank correlation of a map's absolute values with it, so "the map
  follows the image's edges" is a number for the trained and for every randomized model.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xaireport.core.errors import UserError

# Spearman rank correlation over pixels; ``nan`` when either map is constant (a CAM is all zeros when its weighted
# sum is negative everywhere, as on a randomized head): a constant map has no ranking, as scipy, Quantus and the
# paper's notebook treat it. Chapter 5 counts these maps per step instead of scoring them.
from xaireport.methods.agreement import spearman

if TYPE_CHECKING:
    from torch import nn

    from xaireport.models import Classifier


@dataclass(frozen=True)
class Block:
    """One unit of randomization: a display name and the modules (dotted names) it re-initialises."""

    name: str
    modules: tuple[str, ...]


def blocks(classifier: Classifier) -> list[Block]:
    """The classifier's blocks in cascade order, from the output down to the input."""
    m: Any = classifier.model
    names = {n for n, _ in m.named_modules()}
    if {"fc", "layer4", "conv1", "bn1"} <= names:  # a torchvision ResNet
        out = [Block("fc", ("fc",))]
        for layer in ("layer4", "layer3", "layer2", "layer1"):
            for i in reversed(range(len(getattr(m, layer)))):
                out.append(Block(f"{layer}.{i}", (f"{layer}.{i}",)))
        return [*out, Block("conv1", ("conv1", "bn1"))]
    if {"classifier", "conv_head", "bn2", "blocks", "conv_stem", "bn1"} <= names:  # a timm EfficientNet
        out = [Block("classifier", ("classifier",)), Block("conv_head", ("conv_head", "bn2"))]
        out += [Block(f"blocks.{i}", (f"blocks.{i}",)) for i in reversed(range(len(m.blocks)))]
        return [*out, Block("conv_stem", ("conv_stem", "bn1"))]
    out = [Block(n, (n,)) for n in _generic_blocks(m, "")]
    if not out:
        raise UserError(f"{classifier.name}: the network has no parameterised modules to randomize")
    return out[::-1]


def _generic_blocks(module: nn.Module, prefix: str) -> list[str]:
    """Parameterised children in definition order, containers opened (see the module docstring)."""
    from torch import nn

    names = []
    for name, child in module.named_children():
        full = f"{prefix}{name}"
        if not any(True for _ in child.parameters()):
            continue
        if type(child) in (nn.Sequential, nn.ModuleList):
            names += _generic_blocks(child, f"{full}.")
        else:
            names.append(full)
    return names


def initializer(classifier: Classifier) -> str:
    """Which initialisation :func:`randomize` uses for this classifier (stated in the chapter)."""
    return {"timm": "timm EfficientNet (_init_weight_goog)", "resnet": "torchvision ResNet"}.get(
        _style(classifier), "each layer's PyTorch reset_parameters()"
    )


def _style(classifier: Classifier) -> str:
    names = {n for n, _ in classifier.model.named_modules()}
    if {"fc", "layer4", "conv1", "bn1"} <= names:
        return "resnet"
    if {"classifier", "conv_head", "bn2", "blocks", "conv_stem", "bn1"} <= names:
        return "timm"
    return "default"


def _reinit(module: nn.Module, style: str) -> None:
    import torch
    from torch import nn

    for name, m in module.named_modules():
        if style == "timm":
            from timm.models._efficientnet_builder import _init_weight_goog

            _init_weight_goog(m, name)
        elif style == "default":
            reset: Any = getattr(m, "reset_parameters", None)
            if callable(reset) and not isinstance(m, nn.modules.batchnorm._BatchNorm):
                reset()
        elif isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            m.reset_parameters()
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                if m.weight is not None:
                    m.weight.fill_(1.0)
                if m.bias is not None:
                    m.bias.zero_()
            m.reset_running_stats()


def _block_seed(seed: int, block: Block) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{block.name}".encode()).digest()[:4], "little")


def randomize(classifier: Classifier, upto: str | None = None, only: str | None = None, seed: int = 0) -> Classifier:
    """A new classifier with random weights in some blocks; ``classifier`` is not modified.

    Args:
        upto: cascading randomization: every block from the output down to and including ``upto``.
        only: independent randomization: just the block ``only``.
        seed: the random weights of each block depend on this seed and the block's name only.

    With neither, the copy is the trained model. The new classifier's ``weights_id`` records what was
    randomized, so its explanations are cached apart from the trained model's; equal random weights (a cascade
    down to the top block, and that block alone) get one ``weights_id``, so their explanations are computed once.
    """
    import torch

    order = blocks(classifier)
    names = [b.name for b in order]
    if upto is not None and only is not None:
        raise ValueError("give at most one of upto and only")
    for given in (upto, only):
        if given is not None and given not in names:
            raise UserError(f"{classifier.name} has no block {given!r}: choose from {', '.join(names)}")
    chosen = order[: names.index(upto) + 1] if upto else [b for b in order if b.name == only] if only else []
    model = copy.deepcopy(classifier.model)
    style = _style(classifier)
    state = torch.random.get_rng_state()
    try:
        for b in chosen:
            torch.manual_seed(_block_seed(seed, b))
            for name in b.modules:
                _reinit(model.get_submodule(name), style)
    finally:
        torch.random.set_rng_state(state)
    model.eval()
    return classifier.with_model(model, random_weights_id(classifier.weights_id, [b.name for b in chosen], upto, seed))


def random_weights_id(weights_id: str, chosen: list[str], upto: str | None, seed: int) -> str:
    """The ``weights_id`` of a classifier with the blocks ``chosen`` re-initialised (:func:`randomize`), known
    without building it (``xaireport precompute`` names the cache entries of randomized networks by it). A cascade
    down to the top block is that block alone: one identity, so its maps are computed once."""
    tag = f"only:{chosen[0]}" if len(chosen) == 1 else f"cascade:{upto}" if upto else "trained"
    return f"{weights_id}|random[{tag},seed={seed}]"


# --- Similarity of a map to the trained model's map ----------------------------------------------------------


def unit_range(m: np.ndarray) -> np.ndarray:
    """A map min-max scaled to [0, 1] (the paper notebook's ``normalize_image``); a constant map becomes zeros."""
    m = np.asarray(m, np.float64)
    lo, hi = m.min(), m.max()
    return (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)


#: SSIM's ``data_range`` in the paper's notebook: ``compare_ssim`` of scikit-image 0.14 took it from the dtype of
#: its float input, (-1, 1), although the maps are in [0, 1]; kept so that our values are the paper's.
PAPER_SSIM_DATA_RANGE = 2.0


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity as the paper's notebook computes it (Adebayo et al. 2018): both maps min-max scaled to
    [0, 1], a Gaussian window (σ = 1.5) and a fixed data range (:data:`PAPER_SSIM_DATA_RANGE`), so the scale does
    not change from one cascade step to the next."""
    from skimage.metrics import structural_similarity

    return float(
        structural_similarity(unit_range(a), unit_range(b), gaussian_weights=True, data_range=PAPER_SSIM_DATA_RANGE)
    )


def hog_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The paper's third measure: Spearman rank correlation of the HOG descriptors (scikit-image ``hog``,
    16 × 16-pixel cells — smaller for maps under 48 pixels, so that one 3 × 3-cell block fits — other defaults) of
    the two maps, each min-max scaled to [0, 1]: how far the maps' edge structure agrees. ``nan`` when a descriptor
    is constant."""
    from skimage.feature import hog

    cell = max(1, min(16, min(np.shape(a)) // 3))
    return spearman(hog(unit_range(a), pixels_per_cell=(cell, cell)), hog(unit_range(b), pixels_per_cell=(cell, cell)))


def top_superpixels(weights: np.ndarray, k: int) -> set[int]:
    """The ids of the (at most) ``k`` superpixels with the largest positive weights."""
    order = np.argsort(-np.asarray(weights), kind="stable")[:k]
    return {int(i) for i in order if weights[i] > 0}


def jaccard(a: set[int], b: set[int]) -> float:
    """|A ∩ B| / |A ∪ B| of two superpixel sets (``nan`` when both are empty)."""
    union = a | b
    return len(a & b) / len(union) if union else float("nan")


def edge_map(crop: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The Sobel gradient magnitude (scikit-image ``filters.sobel``) of the grey-level image the model sees
    (RGB uint8 ``crop``), resized to ``shape`` (a map's) when that differs: the paper's edge-detector baseline."""
    from skimage.color import rgb2gray
    from skimage.filters import sobel
    from skimage.transform import resize

    grey = rgb2gray(np.asarray(crop)) if np.ndim(crop) == 3 else np.asarray(crop, np.float64)
    edges = sobel(grey)
    if shape is not None and tuple(shape) != edges.shape:
        edges = resize(edges, shape, order=1, anti_aliasing=True)
    return edges


def edge_similarity(m: np.ndarray, edges: np.ndarray) -> float:
    """Spearman rank correlation of ``|m|`` with an edge map (:func:`edge_map`): how far the map ranks pixels as an
    edge detector does (``nan`` for a constant map)."""
    return spearman(np.abs(m), edges)


def similarities(trained: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """The paper's map measures: Spearman (signed), Spearman of absolute values, SSIM and HOG similarity."""
    return {
        "spearman": spearman(trained, other),
        "spearman_abs": spearman(np.abs(trained), np.abs(other)),
        "ssim": ssim(trained, other),
        "hog": hog_similarity(trained, other),
    }


# --- A null from unrelated maps (issue 33) ---------------------------------------------------------------------

#: Rank correlations are clipped to ±Z_CLIP before Fisher's z: a map equal to the trained one has ρ = 1 (z = ∞).
Z_CLIP = 0.999


def nanmean(a: np.ndarray, axis: int | None = None) -> np.ndarray:
    """``np.nanmean`` without its warning: a row without any value is NaN (an image whose trained map is constant)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def fisher_z(r: np.ndarray | float) -> np.ndarray:
    """Fisher's z = artanh(ρ) of rank correlations clipped to ±:data:`Z_CLIP` (NaN stays NaN): on this scale
    correlations of different maps can be averaged and differenced, and ρ below 0.2 changes by under 0.01."""
    return np.arctanh(np.clip(np.asarray(r, dtype=np.float64), -Z_CLIP, Z_CLIP))


def _rank_rows(maps: list[np.ndarray]) -> np.ndarray:
    """Each map's pixel ranks (ties averaged), centred and scaled to unit norm, one row per map: the dot product of
    two rows is their Spearman ρ. A constant map's row is NaN."""
    from scipy.stats import rankdata

    rows = np.stack([np.asarray(m, dtype=np.float64).ravel() for m in maps])
    ranks = rankdata(rows, axis=1)
    ranks -= ranks.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(ranks, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, ranks / norms, np.nan)


def spearman_matrix(a: list[np.ndarray], b: list[np.ndarray]) -> np.ndarray:
    """Spearman ρ of every map of ``a`` (rows) with every map of ``b`` (columns), all of one shape; NaN where either
    is constant. Equal to :func:`xaireport.methods.agreement.spearman` pair by pair (tested)."""
    return np.clip(_rank_rows(a) @ _rank_rows(b).T, -1.0, 1.0)


def hog_descriptor(m: np.ndarray) -> np.ndarray:
    """The HOG descriptor :func:`hog_similarity` compares (of the min-max scaled map)."""
    from skimage.feature import hog

    cell = max(1, min(16, min(np.shape(m)) // 3))
    return hog(unit_range(m), pixels_per_cell=(cell, cell))


def is_constant(m: np.ndarray) -> bool:
    a = np.asarray(m)
    return bool(a.min() == a.max())


@dataclass(frozen=True)
class NullComparison:
    """One method's randomized maps against its trained maps, image by image, with the null of unrelated maps.

    For image ``i`` and randomization seed ``s``: ``matched[i, s]`` is the similarity of the randomized map
    ``R[i, s]`` to the trained map ``T[i]``; ``null[i, s]`` the mean similarity of ``T[i]`` to the randomized maps of
    the *other* images under the same randomization, ``R[j, s]`` for ``j ≠ i`` (same method, same random weights,
    only the image link broken); ``trained_null[i]`` the mean similarity of ``T[i]`` to the trained maps of the
    other images. Correlations (Spearman, HOG) are averaged on Fisher's z scale and stored back as ρ; SSIM as is.
    A randomized map that is constant has changed completely: its similarity is 0 (counted in ``constant``). An
    image whose trained map is constant has nothing to compare: NaN (counted in ``dropped``)."""

    measure: str  # "spearman", "ssim" or "hog"
    matched: np.ndarray  # images × seeds
    null: np.ndarray  # images × seeds
    trained_null: np.ndarray  # images
    constant: int
    dropped: int

    @property
    def correlation(self) -> bool:
        return self.measure != "ssim"

    def scale(self, v: np.ndarray) -> np.ndarray:
        """Values on the scale they are averaged and differenced on (Fisher's z for correlations)."""
        return fisher_z(v) if self.correlation else np.asarray(v, dtype=np.float64)

    def differences(self) -> np.ndarray:
        """Per image: the matched similarity minus its null, each averaged over the seeds (on :meth:`scale`): what
        the randomized map still shares with its own trained map beyond what unrelated maps share with it."""
        return nanmean(self.scale(self.matched), axis=1) - nanmean(self.scale(self.null), axis=1)


def _similarity_matrix(measure: str, a: list[np.ndarray], b: list[np.ndarray]) -> np.ndarray:
    if measure == "spearman":
        return spearman_matrix(a, b)
    if measure == "hog":
        return spearman_matrix([hog_descriptor(m) for m in a], [hog_descriptor(m) for m in b])
    if measure == "ssim":
        return np.array([[ssim(x, y) if not (is_constant(x) or is_constant(y)) else np.nan for y in b] for x in a])
    raise ValueError(f"unknown similarity {measure!r}")


def null_comparison(trained: list[np.ndarray], randomized: list[list[np.ndarray]], measure: str) -> NullComparison:
    """:class:`NullComparison` of ``randomized[s][i]`` (seed ``s``, image ``i``) against ``trained[i]``."""
    n = len(trained)
    seeds = len(randomized)
    trained_constant = np.array([is_constant(t) for t in trained])
    matched = np.full((n, seeds), np.nan)
    null = np.full((n, seeds), np.nan)
    constant = 0
    off = ~np.eye(n, dtype=bool)
    for s, maps in enumerate(randomized):
        if len(maps) != n:
            raise ValueError(f"seed {s}: {len(maps)} randomized maps for {n} trained maps")
        sim = _similarity_matrix(measure, trained, maps)  # [i, j]: T[i] against R[j, s]
        flat = np.array([is_constant(m) for m in maps])
        constant += int(flat.sum())
        sim[:, flat] = 0.0  # a constant randomized map: changed completely
        sim[trained_constant, :] = np.nan
        matched[:, s] = np.diag(sim)
        if n > 1:
            scaled = fisher_z(sim) if measure != "ssim" else sim
            mean = nanmean(np.where(off, scaled, np.nan), axis=1)
            null[:, s] = np.tanh(mean) if measure != "ssim" else mean
    trained_null = np.full(n, np.nan)
    if n > 1:
        tt = _similarity_matrix(measure, trained, trained)
        tt[trained_constant, :] = np.nan
        tt[:, trained_constant] = np.nan
        scaled = fisher_z(tt) if measure != "ssim" else tt
        mean = nanmean(np.where(off, scaled, np.nan), axis=1)
        trained_null = np.tanh(mean) if measure != "ssim" else mean
    return NullComparison(measure, matched, null, trained_null, constant, int(trained_constant.sum()))


# --- Controls with known answers (issue 34) --------------------------------------------------------------------

#: Explanations with a known verdict, shown beside the methods: ``edges`` ignores the model (the Sobel edge map of
#: the input, the paper's edge detector: it must fail), ``noise`` is independent noise for every set of weights (it
#: must pass).
CONTROLS = {
    "edges": "Sobel edges (control: ignores the model)",
    "noise": "independent noise (control: new noise for every set of weights)",
}


def control_map(name: str, crop: np.ndarray, weights_id: str, image_digest: str) -> np.ndarray:
    """The map of control ``name`` (:data:`CONTROLS`) for an image (its model-size ``crop`` and file digest) under
    the weights ``weights_id``."""
    if name == "edges":
        return edge_map(crop).astype(np.float32)
    if name == "noise":
        seed = int.from_bytes(hashlib.sha256(f"{weights_id}|{image_digest}".encode()).digest()[:8], "little")
        return np.random.default_rng(seed).random(np.shape(crop)[:2], dtype=np.float32)
    raise ValueError(f"unknown control {name!r}: choose from {', '.join(CONTROLS)}")
