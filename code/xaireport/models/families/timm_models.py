"""``timm:<name>``: every ``timm.list_models()`` entry (``timm:<name>.<tag>`` picks a pretrained tag), with timm's
pretrained weights (the Hugging Face hub) or a local file (a fine-tuned file's classifier sets the class count);
class names from timm's ImageNet info for in1k/in21k models; preprocessing from the model's pretrained config;
target layer and head as :mod:`xaireport.models.anatomy` finds them (:func:`xaireport.models.assembly.assemble`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xaireport.core.errors import UserError
from xaireport.models.assembly import assemble
from xaireport.models.checkpoints import classes_in, load_into, read_state_dict, tensors_digest
from xaireport.models.classifier import Classifier
from xaireport.models.classnames import imagenet_short_names
from xaireport.models.preprocessing import timm_preprocessing
from xaireport.models.registry import register_prefix


def _timm_names(text: str) -> list[str]:
    import timm

    return list(timm.list_models(f"*{text}*" if text else ""))


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
