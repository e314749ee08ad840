"""CLIP-Dissect's labelling step on computed embeddings and activations (no cache, no forward pass): the
similarity matrix, each unit's label, and the final-layer check."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from xaireport.methods.dissect.similarity import describe, similarity_function
from xaireport.models import Classifier


def similarity_matrix(
    image_feats: torch.Tensor, text_feats: torch.Tensor, acts: torch.Tensor, similarity: str
) -> torch.Tensor:
    P = image_feats.float() @ text_feats.float().T
    return similarity_function(similarity)(P, acts)


def describe_units(
    image_feats: torch.Tensor,
    text_feats: torch.Tensor,
    acts: torch.Tensor,
    concepts: list[str],
    similarity: str,
    layer: str,
) -> pd.DataFrame:
    """One row per unit: layer, unit, description (the argmax concept), similarity (the max)."""
    labels, vals, _ = describe(similarity_matrix(image_feats, text_feats, acts, similarity), concepts)
    return pd.DataFrame(
        {"layer": layer, "unit": np.arange(len(labels)), "description": labels, "similarity": vals.numpy()}
    )


def final_layer_concepts(classifier: Classifier) -> list[str]:
    """The concept set of the final-layer check: for ImageNet-1k outputs the full WordNet synonym strings
    (``tench, Tinca tinca``), as the authors' check uses; otherwise the model's class names."""
    from xaireport.models.classnames import imagenet_descriptions

    return imagenet_descriptions() if classifier.label_set == "imagenet-1k" else list(classifier.categories)


def final_layer_accuracy(
    image_feats: torch.Tensor,
    text: torch.Tensor,
    fc_acts: torch.Tensor,
    class_names: list[str],
    similarity: str,
    shown: int | None = None,
) -> dict[str, float]:
    """Dissect the output units with the model's own class names (``text``: their CLIP embeddings): how often
    is unit i labelled class i?

    The similarity is computed over *all* output units (soft-WPMI's λ term averages over every unit, so a
    subset would change every score); ``shown`` limits only which units are counted. A unit counts as correct
    when its label is the same string as its class (two ImageNet classes share the name ``crane``).
    """
    sim = similarity_matrix(image_feats, text, fc_acts, similarity)
    k = sim.shape[0] if shown is None else min(shown, sim.shape[0])
    top5 = sim[:k].topk(k=min(5, sim.shape[1]), dim=1).indices
    names = np.array(class_names, dtype=object)
    hit = names[top5.numpy()] == names[:k, None]
    return {
        "top1": float(hit[:, 0].mean()),
        "top5": float(hit.any(axis=1).mean()),
        "units": int(k),
        "total_units": int(sim.shape[0]),
    }


@dataclass
class ModelDissection:
    """The descriptions of one model's layers, with the activations behind them."""

    key: str
    classifier: Classifier
    table: pd.DataFrame
    activations: dict[str, torch.Tensor]
    final_layer: dict[str, float] = field(default_factory=dict)
