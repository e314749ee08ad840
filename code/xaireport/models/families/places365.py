"""``resnet18-places365``: the Places365 authors' ResNet-18 checkpoint (``resnet18_places365.pth.tar``, downloaded
into the torch hub cache without a local file), with their evaluation's preprocessing and the 365 category names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xaireport.core.downloads import download
from xaireport.models.checkpoints import load_into, read_state_dict
from xaireport.models.classifier import Classifier
from xaireport.models.classnames import places365_categories
from xaireport.models.families.resnet import wrap_resnet
from xaireport.models.preprocessing import IMAGENET_MEAN, IMAGENET_STD
from xaireport.models.registry import register_model

PLACES365_URL = "http://places2.csail.mit.edu/models_places365/resnet18_places365.pth.tar"


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
    return wrap_resnet(
        name,
        model,
        cats,
        weights_id,
        {"resize_to": 256, "crop_size": 224, "interpolation": "bilinear", "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
        "places365",
    )
