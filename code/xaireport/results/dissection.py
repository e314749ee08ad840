"""CLIP-Dissect's unit descriptions (chapter 1), cached, and :func:`run`: the chapter's models, CLIP, probe set and
concepts loaded from the settings and dissected, with a random-weight ResNet-18 as the null distribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from xaireport.core.cache import ResultCache, make_key
from xaireport.models import Classifier
from xaireport.results.activations import act_key, concepts_digest, probe_features, text_features

if TYPE_CHECKING:
    from xaireport.methods.dissect.encoders import Clip
    from xaireport.methods.dissect.labels import ModelDissection
    from xaireport.methods.dissect.probe import ProbeSet
    from xaireport.session import Session
    from xaireport.settings import Settings


#: Concept lists that only exist as downloads (the paper's 20k word list, Broden's labels, Places365's classes).
DOWNLOADED_CONCEPTS = ("20k", "broden", "places365")


def missing_inputs(settings: Settings) -> list[str]:
    """Settings that must point at local files before chapter 1 can run without downloads
    (empty when downloads are allowed, or everything needed is local or random)."""
    d = settings.dissection
    if d.download:
        return []
    missing = []
    if not d.random_weights:
        for key, spec in d.models.items():
            if spec.weights is None:
                missing.append(f"dissection.models.{key}.weights")
        if d.models.places365.categories is None:
            missing.append("dissection.models.places365.categories")
    if d.clip.weights is None and d.clip.pretrained not in ("none", ""):
        missing.append("dissection.clip.weights")
    if d.probe.source != "generated" and d.probe.root is None:
        missing.append("dissection.probe.root")
    if d.concepts in DOWNLOADED_CONCEPTS:
        missing.append("dissection.concepts (a local file, or wordfreq-20k)")
    return missing


def dissect(
    cache: ResultCache,
    probe: ProbeSet,
    clip: Clip,
    models: dict[str, Classifier],
    layers: list[str],
    concepts: list[str],
    similarity: str = "soft_wpmi",
    batch_size: int = 64,
    num_workers: int = 2,
    final_layer: bool = True,
    final_layer_units: int | None = None,
    autocast: bool = False,
) -> dict[str, ModelDissection]:
    """Describe every unit of ``layers`` of every model with a concept.

    With ``final_layer``, also dissect the output layer (``fc``) with the model's own class names as the
    concept set (:func:`final_layer_concepts`; similarity over all output units, the first
    ``final_layer_units`` counted, or all) and report how often unit i is labelled class i: the reader's
    measure of how far the method's labels can be trusted. ``autocast``: run the models in float16 on a GPU.
    """
    import pandas as pd

    from xaireport.methods.dissect.labels import (
        ModelDissection,
        describe_units,
        final_layer_accuracy,
        final_layer_concepts,
    )
    from xaireport.methods.dissect.similarity import similarity_function

    similarity_function(similarity)  # an unknown name fails before the probe pass
    wanted = {n: (c, list(layers) + (["fc"] if final_layer else [])) for n, c in models.items()}
    image_feats, acts = probe_features(cache, probe, clip, wanted, batch_size, num_workers, autocast)
    text = text_features(cache, clip, concepts)
    out = {}
    for n, c in models.items():
        key = make_key(
            code=__name__,
            kind="descriptions",
            activations=[act_key(c, layer, probe, autocast) for layer in layers],
            clip=clip.identity,
            concepts=concepts_digest(concepts),
            similarity=similarity,
        )

        def compute(n=n):
            t = pd.concat(
                [describe_units(image_feats, text, acts[n][layer], concepts, similarity, layer) for layer in layers],
                ignore_index=True,
            )
            return {"unit": t["unit"].to_numpy(), "similarity": t["similarity"].to_numpy()}, {
                "layer": t["layer"].tolist(),
                "description": t["description"].tolist(),
            }

        a, m = cache.get_or_compute("dissect", key, compute)
        table = pd.DataFrame(
            {"layer": m["layer"], "unit": a["unit"], "description": m["description"], "similarity": a["similarity"]}
        )
        fl = {}
        if final_layer:
            names = final_layer_concepts(c)
            fl = final_layer_accuracy(
                image_feats, text_features(cache, clip, names), acts[n]["fc"], names, similarity, final_layer_units
            )
        out[n] = ModelDissection(n, c, table, {layer: acts[n][layer] for layer in layers}, fl)
    return out


RANDOM_KEY = "random"  # the random-weight ResNet-18 dissected as the null distribution


@dataclass
class DissectionRun:
    results: dict[str, ModelDissection]
    probe: ProbeSet
    concepts: list[str]
    clip: str
    baseline: ModelDissection


def run(session: Session) -> DissectionRun:
    """Chapter 1 with the session's settings: both models, CLIP, the probe set and the concepts loaded, and
    dissected (cached), with the random-weight baseline (``RANDOM_KEY``) dissected the same way."""
    from xaireport import models
    from xaireport.methods.dissect.concepts import load_concepts
    from xaireport.methods.dissect.encoders import load_clip
    from xaireport.methods.dissect.probe import load_probe

    s = session.settings
    d = s.dissection
    nets = {}
    for i, (key, spec) in enumerate(d.models.items()):
        nets[key] = models.load(
            spec.model,
            s.path(spec.weights),
            s.device,
            random_init=d.random_weights,
            seed=s.seed + i,
            categories=s.path(spec.categories),
        )
    # The null distribution: the same architecture with random weights, dissected with the same CLIP, probe
    # set and concepts (Adebayo et al.'s sanity check applied to network dissection).
    nets[RANDOM_KEY] = models.load(d.models.imagenet.model, None, s.device, random_init=True, seed=s.seed + 1000)
    probe = load_probe(
        d.probe.source, s.path(d.probe.root), d.probe.size, s.seed, cache_dir=session.cache.root / "probe"
    )
    clip = load_clip(d.clip.arch, d.clip.pretrained, s.path(d.clip.weights), s.device, s.seed)
    concepts = load_concepts(d.concepts)
    results = dissect(
        session.cache,
        probe,
        clip,
        nets,
        d.layers,
        concepts,
        d.similarity,
        d.batch_size,
        d.num_workers,
        final_layer=True,
        final_layer_units=d.final_layer_units,
        autocast=d.autocast,
    )
    baseline = results.pop(RANDOM_KEY)
    return DissectionRun(results, probe, concepts, clip.identity, baseline)
