"""Every cached computation of the report, and the only module that reads or writes the result cache.

Chapters and the CLI both call these functions, so a result computed by one is reused by the other. Each
result kind names the package code it depends on (:data:`CODE`): its method modules and the models/images
code, never figure, chapter or CLI code. Editing chapter 3's LIME code therefore re-runs LIME only; CAM maps
and chapter 1's activations stay cached (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from xaireport.core.cache import ResultCache, bytes_digest, make_key
from xaireport.images import LoadedImage
from xaireport.models import Classifier
from xaireport.models.description import LazyClassifier, real

#: A loaded classifier, or one that loads on first use (a page's results read from the cache need no network).
AnyClassifier = Classifier | LazyClassifier

if TYPE_CHECKING:
    import torch

    from xaireport.methods.dissect.encoders import Clip
    from xaireport.methods.dissect.labels import ModelDissection
    from xaireport.methods.dissect.probe import ProbeSet
    from xaireport.methods.explanations import CamResult, LimeResult

_INPUTS = ("models", "images.py", "core/device.py")
_FORWARD = ("core/inference.py", "core/onnxrt.py")  # how ScoreCAM's and LIME's batches run (ONNX Runtime, ...)

#: Package code each cached result kind depends on (files or folders relative to the package root).
CODE: dict[str, tuple[str, ...]] = {
    "cam": ("methods/cams", *_FORWARD, *_INPUTS),
    "faithfulness": ("methods/faithfulness.py", "methods/agreement.py", *_INPUTS),
    "lime": ("methods/lime.py", *_FORWARD, *_INPUTS),
    "sanity": ("methods/sanity.py", "report/sanity_checks.py", "methods/cams", "methods/lime.py", *_FORWARD, *_INPUTS),
    "clip": ("methods/dissect/encoders.py", "images.py", "core/device.py"),
    "activations": ("methods/dissect/encoders.py", *_INPUTS),
    "descriptions": ("methods/dissect/similarity.py", "methods/dissect/labels.py", "methods/dissect/concepts.py"),
}

SEGMENTATION = "quickshift(kernel_size=4, max_dist=200, ratio=0.2)"


def model_parts(classifier: AnyClassifier) -> dict[str, str]:
    """What a result depends on from the classifier: its name, weights, target layer and class names."""
    return {
        "model": classifier.name,
        "weights": classifier.weights_id,
        "layer": classifier.target_layer_name,
        "classes": bytes_digest("\n".join(classifier.categories).encode()),
    }


# --- Chapter 2: CAMs and their faithfulness -------------------------------------------------------------


def cam_key(classifier: AnyClassifier, image: LoadedImage, method: str, target: int | None) -> str:
    return make_key(
        code=CODE["cam"],
        kind="cam",
        method=method,
        **model_parts(classifier),
        image=image.digest,
        target=target,
    )


def cached_cam(
    cache: ResultCache,
    classifier: AnyClassifier,
    image: LoadedImage,
    method: str,
    target: int | None = None,
    batch_size: int | None = None,
) -> CamResult:
    """:func:`xaireport.methods.cams.explain`, cached by model weights, image bytes, method, target and the
    CAM code's version."""
    from xaireport.methods.cams import explain
    from xaireport.methods.explanations import CamResult

    def compute():
        r = explain(real(classifier), image.array, method, target, batch_size=batch_size)
        return {"map": r.map}, {
            "method": method,
            "class_index": r.class_index,
            "class_name": r.class_name,
            "score": r.score,
            "seconds": r.seconds,
            "device": str(real(classifier).device),
        }

    arrays, meta = cache.get_or_compute("cams", cam_key(classifier, image, method, target), compute)
    return CamResult(
        method=method,
        map=arrays["map"],
        class_index=meta["class_index"],
        class_name=meta["class_name"],
        score=meta["score"],
        seconds=meta["seconds"],
    )


def map_digest(a: np.ndarray) -> str:
    return bytes_digest(np.ascontiguousarray(a, dtype=np.float32).tobytes())


def cached_faithfulness(
    cache: ResultCache,
    classifier: AnyClassifier,
    image: LoadedImage,
    result: CamResult,
    percentiles: list[int],
    remove_fraction: float,
    seed: int,
) -> dict[str, float]:
    """:func:`xaireport.methods.faithfulness.scores` of one map, cached by the map's bytes and the settings."""
    key = make_key(
        code=CODE["faithfulness"],
        kind="faithfulness",
        **model_parts(classifier),
        image=image.digest,
        map=map_digest(result.map),
        cls=result.class_index,
        percentiles=percentiles,
        remove_fraction=remove_fraction,
        seed=seed,
    )

    def compute():
        from xaireport.methods import faithfulness

        s = faithfulness.scores(
            real(classifier),
            classifier.crop(image.array),
            result.map,
            result.class_index,
            percentiles=percentiles,
            remove_fraction=remove_fraction,
            seed=seed,
        )
        return {}, s

    return cache.get_or_compute("faithfulness", key, compute)[1]


# --- Chapter 3: LIME ------------------------------------------------------------------------------------


def lime_key(
    classifier: AnyClassifier, image: LoadedImage, num_samples: int, num_features: int, seed: int, target: int | None
) -> str:
    return make_key(
        code=CODE["lime"],
        kind="lime",
        **model_parts(classifier),
        image=image.digest,
        num_samples=num_samples,
        num_features=num_features,
        seed=seed,
        target=target,
        segmentation=SEGMENTATION,
    )


def cached_lime(
    cache: ResultCache,
    classifier: AnyClassifier,
    image: LoadedImage,
    num_samples: int,
    num_features: int,
    seed: int,
    target: int | None = None,
    batch_size: int | None = None,
) -> LimeResult:
    """:func:`xaireport.methods.lime.explain`, cached by weights, image bytes, parameters, seed and LIME's code."""
    from xaireport.methods.explanations import LimeResult

    def compute():
        from xaireport.methods.lime import explain

        r = explain(real(classifier), image.array, num_samples, num_features, seed, target, batch_size=batch_size)
        return (
            {"segments": r.segments, "weights": r.weights, "mask": r.mask, "heatmap": r.heatmap},
            {
                "class_index": r.class_index,
                "class_name": r.class_name,
                "score": r.score,
                "r2": r.r2,
                "seconds": r.seconds,
            },
        )

    a, m = cache.get_or_compute("lime", lime_key(classifier, image, num_samples, num_features, seed, target), compute)
    return LimeResult(
        image=classifier.crop(image.array),
        segments=a["segments"],
        weights=a["weights"],
        mask=a["mask"],
        heatmap=a["heatmap"],
        class_index=m["class_index"],
        class_name=m["class_name"],
        score=m["score"],
        r2=m["r2"],
        seconds=m["seconds"],
    )


# --- Chapter 5: sanity checks --------------------------------------------------------------------------


def cached_sanity(
    cache: ResultCache,
    classifier: AnyClassifier,
    images: list[LoadedImage],
    methods: list[str],
    settings: Any,
    compute: Callable[[], tuple[dict[str, np.ndarray], dict[str, Any]]],
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A whole sanity-check run (``compute``: :meth:`xaireport.report.sanity_checks.SanityRun.record`), cached
    by the classifier, the images' bytes, the methods, the settings its explanations depend on and the code of
    the randomization, the methods and the run. Each of its explanations is cached on its own as well."""
    key = make_key(
        code=CODE["sanity"],
        kind="sanity",
        **model_parts(classifier),
        images=[im.digest for im in images],
        methods=methods,
        seed=settings["seed"],
        lime=[settings["sanity.lime_num_samples"], settings["lime.num_features"]],
        segmentation=SEGMENTATION,
    )
    return cache.get_or_compute("sanity", key, compute)


# --- Chapter 1: CLIP-Dissect ----------------------------------------------------------------------------


def concepts_digest(concepts: list[str]) -> str:
    return bytes_digest("\n".join(concepts).encode())


def text_features(cache: ResultCache, clip: Clip, concepts: list[str]) -> torch.Tensor:
    """CLIP text embeddings of ``concepts`` (cached by CLIP and the list)."""
    import torch

    from xaireport.methods.dissect.encoders import embed_texts

    key = make_key(code=CODE["clip"], kind="clip-text", clip=clip.identity, concepts=concepts_digest(concepts))
    a, _ = cache.get_or_compute("dissect", key, lambda: ({"f": embed_texts(clip, concepts).numpy()}, {}))
    return torch.from_numpy(a["f"])


def act_key(c: Classifier, layer: str, probe: ProbeSet, autocast: bool) -> str:
    """Cache key of one layer's activations: model weights, layer, probe contents, preprocessing, precision."""
    return make_key(
        code=CODE["activations"],
        kind="activations",
        model=c.name,
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

    clip_key = make_key(code=CODE["clip"], kind="clip-image", clip=clip.identity, probe=probe.digest)
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
            code=CODE["descriptions"],
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
