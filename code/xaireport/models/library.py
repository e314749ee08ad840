"""Any timm or torchvision image classifier by name: ``timm:<name>`` (every ``timm.list_models()`` entry;
``timm:<name>.<tag>`` picks a pretrained tag) and ``torchvision:<name>`` (every classification model of
``torchvision.models.list_models``).

Weights: the library's pretrained download (online), or a local file (a state dict, a checkpoint with a
``state_dict``/``model`` key, or a ``module.``-prefixed one; read with ``weights_only=True``). A fine-tuned file's
classifier shape sets the number of classes. Class names: the library's own (torchvision's weights meta, timm's
ImageNet info for in1k/in21k models), else ``class 0`` … (a ``classes`` file names them: :func:`xaireport.models.load`).
Preprocessing from the model's own config; target layer and head as :mod:`xaireport.models.anatomy` finds them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xaireport.core.downloads import download
from xaireport.core.errors import UserError
from xaireport.models.checkpoints import classes_in, load_into, read_state_dict, tensors_digest
from xaireport.models.classifier import Classifier
from xaireport.models.preprocessing import timm_preprocessing, torchvision_preprocessing
from xaireport.models.registry import register_prefix


def _timm_names(text: str) -> list[str]:
    import timm

    return list(timm.list_models(f"*{text}*" if text else ""))


def _torchvision_names(text: str) -> list[str]:
    import torchvision

    return [n for n in torchvision.models.list_models(module=torchvision.models) if text in n]


@register_prefix("timm", _timm_names)
def _timm(name: str, weights: Path | None, random_init: bool, _categories: Any) -> Classifier:
    import timm

    from xaireport.core.cache import file_digest

    arch = name.partition(":")[2]
    _check_timm_tag(name, arch)
    if random_init:
        model = timm.create_model(arch, pretrained=False)
        weights_id = "random"
    elif weights is not None:
        state = read_state_dict(weights)
        model = timm.create_model(arch, pretrained=False)
        cfg: Any = model.pretrained_cfg
        head_name = cfg.get("classifier") or "head"
        head_name = head_name[0] if isinstance(head_name, (list, tuple)) else head_name
        n = classes_in(state, head_name)
        if n is not None and n != model.num_classes:
            model = timm.create_model(arch, pretrained=False, num_classes=n)
        load_into(model, state, weights, name)
        weights_id = file_digest(weights)
    else:
        cfg = timm.models.get_pretrained_cfg(arch)
        source = (
            f"https://huggingface.co/{cfg.hf_hub_id}" if cfg is not None and cfg.hf_hub_id else getattr(cfg, "url", "")
        )
        try:
            with _quiet_hub():
                model = timm.create_model(arch, pretrained=True)
        except Exception as exc:  # noqa: BLE001 - hub, network and missing-tag errors are all this one problem
            raise UserError(
                f"{name}: cannot get timm's pretrained weights from {source or 'the Hugging Face hub'} "
                f"({type(exc).__name__}): download them on a machine with internet and pass the file with "
                "--weights (or the classifier.weights setting)"
            ) from exc
        weights_id = tensors_digest(model)
    categories, label_set = _timm_classes(model)
    return assemble(name, model, weights_id, timm_preprocessing(model), categories, label_set)


def _check_timm_tag(name: str, arch: str) -> None:
    """A ``timm:<arch>.<tag>`` whose tag timm does not know is one line naming the tags it knows."""
    import timm

    try:
        timm.models.get_pretrained_cfg(arch)
    except RuntimeError as exc:
        base = arch.partition(".")[0]
        tags = [t.partition(".")[2] for t in timm.list_pretrained(f"{base}.*")]
        raise UserError(
            f"{name}: timm has no pretrained tag {arch.partition('.')[2]!r} for {base} "
            f"(known: {', '.join(tags[:12]) or 'none'}{', ...' if len(tags) > 12 else ''})"
        ) from exc


@contextlib.contextmanager
def _quiet_hub() -> Iterator[None]:
    """Hide huggingface_hub's own log lines about failed requests (the error we raise says it in one line), and
    when the hub cannot be reached in 3 s, put it in offline mode for the call: a copy in the Hugging Face cache
    still loads, and a missing one fails at once instead of after the hub's retries (~50 s)."""
    import socket

    from huggingface_hub import constants

    log = logging.getLogger("huggingface_hub")
    level, offline = log.level, constants.HF_HUB_OFFLINE
    log.setLevel(logging.CRITICAL)
    try:
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
    except OSError:
        constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        log.setLevel(level)
        constants.HF_HUB_OFFLINE = offline


def _timm_classes(model: Any) -> tuple[list[str] | None, str]:
    """timm's class names for models whose outputs are an ImageNet label set; ``None`` otherwise."""
    from timm.data import ImageNetInfo, infer_imagenet_subset

    subset = infer_imagenet_subset(model)
    if not subset:
        return None, "custom"
    if subset == "imagenet-1k":
        return imagenet_short_names(), "imagenet-1k"
    names = [d.split(",")[0] for d in ImageNetInfo(subset).label_descriptions()]
    return (names, subset) if len(names) == model.num_classes else (None, "custom")


def imagenet_short_names() -> list[str]:
    """The 1,000 ImageNet-1k class names as torchvision's weights metadata gives them (``tench``, ``goldfish``)."""
    import torchvision

    return list(torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


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


def assemble(
    name: str,
    model: Any,
    weights_id: str,
    preprocessing: dict,
    categories: list[str] | None,
    label_set: str,
) -> Classifier:
    """A :class:`Classifier` around a library model: target layer, head and reshape found by
    :mod:`~xaireport.models.anatomy`; ``class i`` names when the library has none for its outputs."""
    import torch

    from xaireport.models import anatomy

    model.eval()
    size = int(preprocessing["crop_size"])
    layer = anatomy.find_target_layer(model, size)
    kind = anatomy.transformer_kind(model)

    parts = anatomy.splitter(layer, size)
    features, head = parts(model)
    if categories is None:
        with torch.no_grad():
            n = int(model(anatomy.example_input(model, size)).shape[1])
        categories = [f"class {i}" for i in range(n)]
    return Classifier(
        name=name,
        model=model,
        target_layer=model.get_submodule(layer),
        categories=categories,
        device=torch.device("cpu"),
        features=features,
        head=head,
        weights_id=weights_id,
        label_set=label_set,
        split=parts,
        reshape_transform=anatomy.reshape_for(model, kind, size),
        **preprocessing,
    )
