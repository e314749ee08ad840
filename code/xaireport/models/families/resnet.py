"""The torchvision ResNets ``resnet50`` and ``resnet18`` with their ImageNet weights (``IMAGENET1K_V1``), and what
every ResNet builder shares (:func:`wrap_resnet`: features up to ``layer4``, head = pooling + ``fc``).

Without a local file the weights are downloaded into the torch hub cache (``$TORCH_HOME/hub/checkpoints``) and
checked; with no network the error names the URL and the exact path to place the file at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from xaireport.core.downloads import download
from xaireport.models.checkpoints import load_into, read_state_dict
from xaireport.models.classifier import Classifier
from xaireport.models.preprocessing import torchvision_preprocessing
from xaireport.models.registry import register_model


def _torchvision_weights(name: str) -> Any:
    import torchvision

    return {
        "resnet50": torchvision.models.ResNet50_Weights.IMAGENET1K_V1,
        "resnet18": torchvision.models.ResNet18_Weights.IMAGENET1K_V1,
    }[name]


def resnet_parts(model: Any) -> tuple[Callable, Callable]:
    import torch

    def features(x: torch.Tensor) -> torch.Tensor:
        x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        return model.layer4(model.layer3(model.layer2(model.layer1(x))))

    def head(a: torch.Tensor) -> torch.Tensor:
        return model.fc(torch.flatten(model.avgpool(a), 1))

    return features, head


def wrap_resnet(
    name: str, model: Any, categories: list[str], weights_id: str, preprocessing: dict, label_set: str
) -> Classifier:
    import torch

    features, head = resnet_parts(model)
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
        split=resnet_parts,
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
    return wrap_resnet(
        name, model, list(tv.meta["categories"]), weights_id, torchvision_preprocessing(tv), "imagenet-1k"
    )
