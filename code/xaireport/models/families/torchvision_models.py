"""``torchvision:<name>``: every classification model of ``torchvision.models.list_models``, with its default
weights (downloaded into the torch hub cache) or a local file (a fine-tuned file's classifier sets the class
count); preprocessing from the weights' own transforms; target layer and head as
:mod:`xaireport.models.anatomy` finds them (:func:`xaireport.models.assembly.assemble`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xaireport.core.downloads import download
from xaireport.models.assembly import assemble
from xaireport.models.checkpoints import classes_in, load_into, read_state_dict
from xaireport.models.classifier import Classifier
from xaireport.models.preprocessing import torchvision_preprocessing
from xaireport.models.registry import register_prefix


def _torchvision_names(text: str) -> list[str]:
    import torchvision

    return [n for n in torchvision.models.list_models(module=torchvision.models) if text in n]


@register_prefix("torchvision", _torchvision_names)
def _torchvision(name: str, weights: Path | None, random_init: bool, _categories: Any) -> Classifier:
    import torchvision

    from xaireport.core.cache import file_digest

    arch = name.partition(":")[2]
    default = torchvision.models.get_model_weights(arch).DEFAULT
    model = torchvision.models.get_model(arch, weights=None)
    weights_id = "random"
    if not random_init:
        if weights is None:
            filename = default.url.rsplit("/", 1)[-1]
            weights = download(default.url, filename, hash_prefix=filename.rsplit("-", 1)[-1].split(".")[0])
        state = read_state_dict(weights)
        n = classes_in(state, _last_linear(model))
        if n is not None and n != len(default.meta["categories"]):
            model = torchvision.models.get_model(arch, weights=None, num_classes=n)
        load_into(model, state, weights, name)
        weights_id = file_digest(weights)
    meta = list(default.meta["categories"])
    outputs = _outputs(model)
    categories, label_set = (meta, "imagenet-1k") if outputs == len(meta) == 1000 else (None, "custom")
    return assemble(name, model, weights_id, torchvision_preprocessing(default), categories, label_set)


def _last_linear(model: Any) -> str:
    """The dotted name of the last ``nn.Linear`` (the classifier of a torchvision model)."""
    from torch import nn

    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    return names[-1] if names else ""


def _outputs(model: Any) -> int:
    from torch import nn

    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return int(last[-1].out_features) if last else 1000
