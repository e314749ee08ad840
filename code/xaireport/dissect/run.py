"""CLIP-Dissect end to end, every expensive step cached: probe-set embeddings (shared by all models and
layers), unit activations, concept embeddings, and the per-unit descriptions."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ..cache import ResultCache, bytes_digest, make_key
from ..models import Classifier
from .encoders import Clip, embed_texts, encode_probe
from .probe import ProbeSet
from .similarity import describe, similarity_function


def concepts_digest(concepts: list[str]) -> str:
    return bytes_digest("\n".join(concepts).encode())


def text_features(cache: ResultCache, clip: Clip, concepts: list[str]) -> torch.Tensor:
    key = make_key(kind="clip-text", clip=clip.identity, concepts=concepts_digest(concepts))
    a, _ = cache.get_or_compute("dissect", key, lambda: ({"f": embed_texts(clip, concepts).numpy()}, {}))
    return torch.from_numpy(a["f"])


def act_key(c: Classifier, layer: str, probe: ProbeSet, autocast: bool) -> str:
    """Cache key of one layer's activations: model weights, layer, probe contents, preprocessing, precision."""
    return make_key(kind="activations", model=c.name, weights=c.weights_id, layer=layer, probe=probe.digest,
                    pooling="spatial-mean", preprocessing=[c.resize_to, c.crop_size, c.interpolation, c.mean, c.std],
                    precision="float16-autocast" if autocast and c.device.type == "cuda" else "float32")


def probe_features(cache: ResultCache, probe: ProbeSet, clip: Clip, models: dict[str, tuple[Classifier, list[str]]],
                   batch_size: int, num_workers: int, autocast: bool = False
                   ) -> tuple[torch.Tensor, dict[str, dict[str, torch.Tensor]]]:
    """CLIP image embeddings and every model's layer activations on the probe set, in one pass for the
    missing ones. Keys: CLIP weights / model weights, layer, preprocessing, precision and the probe set's
    content digest."""
    clip_key = make_key(kind="clip-image", clip=clip.identity, probe=probe.digest)
    act_keys = {n: {layer: act_key(c, layer, probe, autocast) for layer in layers}
                for n, (c, layers) in models.items()}
    image = cache.load("dissect", clip_key)
    acts = {n: {layer: cache.load("dissect", k) for layer, k in d.items()} for n, d in act_keys.items()}
    missing = {n: (models[n][0], [layer for layer, v in d.items() if v is None]) for n, d in acts.items()}
    missing = {n: v for n, v in missing.items() if v[1]}
    if image is None or missing:
        feats, new = encode_probe(probe.paths, clip if image is None else None, missing, batch_size, num_workers,
                                  autocast)
        if image is None:
            cache.save("dissect", clip_key, {"f": feats.numpy()}, {"n": len(probe)})
            image = ({"f": feats.numpy()}, {})
        for n, d in new.items():
            for layer, t in d.items():
                cache.save("dissect", act_keys[n][layer], {"a": t.numpy()}, {"n": len(probe)})
                acts[n][layer] = ({"a": t.numpy()}, {})
    return (torch.from_numpy(image[0]["f"]),
            {n: {layer: torch.from_numpy(v[0]["a"]) for layer, v in d.items()} for n, d in acts.items()})


def similarity_matrix(image_feats: torch.Tensor, text_feats: torch.Tensor, acts: torch.Tensor,
                      similarity: str) -> torch.Tensor:
    P = image_feats.float() @ text_feats.float().T
    return similarity_function(similarity)(P, acts)


def describe_units(image_feats: torch.Tensor, text_feats: torch.Tensor, acts: torch.Tensor, concepts: list[str],
                   similarity: str, layer: str) -> pd.DataFrame:
    """One row per unit: layer, unit, description (the argmax concept), similarity (the max)."""
    labels, vals, _ = describe(similarity_matrix(image_feats, text_feats, acts, similarity), concepts)
    return pd.DataFrame({"layer": layer, "unit": np.arange(len(labels)), "description": labels,
                         "similarity": vals.numpy()})


def final_layer_concepts(classifier: Classifier) -> list[str]:
    """The concept set of the final-layer check: for ImageNet-1k outputs the full WordNet synonym strings
    (``tench, Tinca tinca``), as the authors' check uses; otherwise the model's class names."""
    from ..models import imagenet_descriptions

    return imagenet_descriptions() if classifier.label_set == "imagenet-1k" else list(classifier.categories)


def final_layer_accuracy(image_feats: torch.Tensor, clip: Clip, cache: ResultCache, fc_acts: torch.Tensor,
                         class_names: list[str], similarity: str, shown: int | None = None) -> dict[str, float]:
    """Dissect the output units with the model's own class names: how often is unit i labelled class i?

    The similarity is computed over *all* output units (soft-WPMI's λ term averages over every unit, so a
    subset would change every score); ``shown`` limits only which units are counted. A unit counts as correct
    when its label is the same string as its class (two ImageNet classes share the name ``crane``).
    """
    text = text_features(cache, clip, class_names)
    sim = similarity_matrix(image_feats, text, fc_acts, similarity)
    k = sim.shape[0] if shown is None else min(shown, sim.shape[0])
    top5 = sim[:k].topk(k=min(5, sim.shape[1]), dim=1).indices
    names = np.array(class_names, dtype=object)
    hit = names[top5.numpy()] == names[:k, None]
    return {"top1": float(hit[:, 0].mean()), "top5": float(hit.any(axis=1).mean()), "units": int(k),
            "total_units": int(sim.shape[0])}


@dataclass
class ModelDissection:
    """The descriptions of one model's layers, with the activations behind them."""

    key: str
    classifier: Classifier
    table: pd.DataFrame
    activations: dict[str, torch.Tensor]
    final_layer: dict[str, float] = field(default_factory=dict)


def dissect(cache: ResultCache, probe: ProbeSet, clip: Clip, models: dict[str, Classifier], layers: list[str],
            concepts: list[str], similarity: str = "soft_wpmi", batch_size: int = 64, num_workers: int = 2,
            final_layer: bool = True, final_layer_units: int | None = None,
            autocast: bool = False) -> dict[str, ModelDissection]:
    """Describe every unit of ``layers`` of every model with a concept.

    With ``final_layer``, also dissect the output layer (``fc``) with the model's own class names as the
    concept set (:func:`final_layer_concepts`; similarity over all output units, the first
    ``final_layer_units`` counted, or all) and report how often unit i is labelled class i: the reader's
    measure of how far the method's labels can be trusted. ``autocast``: run the models in float16 on a GPU.
    """
    similarity_function(similarity)  # an unknown name fails before the probe pass
    wanted = {n: (c, list(layers) + (["fc"] if final_layer else [])) for n, c in models.items()}
    image_feats, acts = probe_features(cache, probe, clip, wanted, batch_size, num_workers, autocast)
    text = text_features(cache, clip, concepts)
    out = {}
    for n, c in models.items():
        key = make_key(kind="descriptions", activations=[act_key(c, layer, probe, autocast) for layer in layers],
                       clip=clip.identity, concepts=concepts_digest(concepts), similarity=similarity)

        def compute(n=n):
            t = pd.concat([describe_units(image_feats, text, acts[n][layer], concepts, similarity, layer)
                           for layer in layers], ignore_index=True)
            return {"unit": t["unit"].to_numpy(), "similarity": t["similarity"].to_numpy()}, {
                "layer": t["layer"].tolist(), "description": t["description"].tolist()}

        a, m = cache.get_or_compute("dissect", key, compute)
        table = pd.DataFrame({"layer": m["layer"], "unit": a["unit"], "description": m["description"],
                              "similarity": a["similarity"]})
        fl = {}
        if final_layer:
            fl = final_layer_accuracy(image_feats, clip, cache, acts[n]["fc"], final_layer_concepts(c), similarity,
                                      final_layer_units)
        out[n] = ModelDissection(n, c, table, {layer: acts[n][layer] for layer in layers}, fl)
    return out
