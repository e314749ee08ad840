"""Chapter 1's expensive passes, cached: CLIP embeddings of the concepts and of the probe images, and every
model's layer activations on the probe set (one pass over the probe images for whatever is missing).

Their own module, so that editing the similarity or labelling code (:mod:`xaireport.results.dissection`) does
not recompute them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xaireport.core.cache import ResultCache, bytes_digest, make_key
from xaireport.models import Classifier
from xaireport.results.keys import model_code

if TYPE_CHECKING:
    import torch

    from xaireport.methods.dissect.encoders import Clip
    from xaireport.methods.dissect.probe import ProbeSet


def concepts_digest(concepts: list[str]) -> str:
    return bytes_digest("\n".join(concepts).encode())


def text_features(cache: ResultCache, clip: Clip, concepts: list[str]) -> torch.Tensor:
    """CLIP text embeddings of ``concepts`` (cached by CLIP and the list)."""
    import torch

    from xaireport.methods.dissect.encoders import embed_texts

    key = make_key(code=__name__, kind="clip-text", clip=clip.identity, concepts=concepts_digest(concepts))
    a, _ = cache.get_or_compute("dissect", key, lambda: ({"f": embed_texts(clip, concepts).numpy()}, {}))
    return torch.from_numpy(a["f"])


def act_key(c: Classifier, layer: str, probe: ProbeSet, autocast: bool) -> str:
    """Cache key of one layer's activations: model weights, layer, probe contents, preprocessing, precision."""
    return make_key(
        code=__name__,
        kind="activations",
        model=c.name,
        model_code=model_code(c.name),
        weights=c.weights_id,
        layer=layer,
        probe=probe.digest,
        pooling="spatial-mean",
        preprocessing=[c.resize_to, c.crop_size, c.interpolation, c.mean, c.std],
        precision="float16-autocast" if autocast and c.device.type == "cuda" else "float32",
    )


def probe_features(
    cache: ResultCache,
    probe: ProbeSet,
    clip: Clip,
    models: dict[str, tuple[Classifier, list[str]]],
    batch_size: int,
    num_workers: int,
    autocast: bool = False,
) -> tuple[torch.Tensor, dict[str, dict[str, torch.Tensor]]]:
    """CLIP image embeddings and every model's layer activations on the probe set, in one pass for the
    missing ones. Keys: CLIP weights / model weights, layer, preprocessing, precision and the probe set's
    content digest."""
    import torch

    from xaireport.methods.dissect.encoders import encode_probe

    clip_key = make_key(code=__name__, kind="clip-image", clip=clip.identity, probe=probe.digest)
    act_keys = {n: {layer: act_key(c, layer, probe, autocast) for layer in layers} for n, (c, layers) in models.items()}
    image = cache.load("dissect", clip_key)
    acts = {n: {layer: cache.load("dissect", k) for layer, k in d.items()} for n, d in act_keys.items()}
    missing = {n: (models[n][0], [layer for layer, v in d.items() if v is None]) for n, d in acts.items()}
    missing = {n: v for n, v in missing.items() if v[1]}
    if image is None or missing:
        feats, new = encode_probe(
            probe.paths, clip if image is None else None, missing, batch_size, num_workers, autocast
        )
        if image is None:
            assert feats is not None  # asked for: clip was passed
            cache.save("dissect", clip_key, {"f": feats.numpy()}, {"n": len(probe)})
            image = ({"f": feats.numpy()}, {})
        for n, d in new.items():
            for layer, t in d.items():
                cache.save("dissect", act_keys[n][layer], {"a": t.numpy()}, {"n": len(probe)})
                acts[n][layer] = ({"a": t.numpy()}, {})
    assert image is not None
    out: dict[str, dict[str, torch.Tensor]] = {}
    for n, entries in acts.items():
        out[n] = {}
        for layer, entry in entries.items():
            assert entry is not None
            out[n][layer] = torch.from_numpy(entry[0]["a"])
    return torch.from_numpy(image[0]["f"]), out
