"""Weights files: reading a state dict from any of the common checkpoint layouts, loading it strictly with a
one-line explanation of a mismatch, and the number of classes a fine-tuned checkpoint was trained for."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xaireport.core.errors import UserError

if TYPE_CHECKING:
    import torch
    from torch import nn

#: Keys under which training scripts nest the state dict (``torch.save({"state_dict": ...})``, timm's
#: ``train.py`` writes ``state_dict``; many others ``model``).
NESTED_KEYS = ("state_dict", "model", "model_state_dict", "state_dict_ema")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file: a bare state dict, a checkpoint with a ``state_dict``/``model`` key, or a
    ``module.``-prefixed (DataParallel / DistributedDataParallel) one; read with ``weights_only=True``."""
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to unpickle is the same user problem
        raise UserError(
            f"{path}: cannot be read as a PyTorch weights file ({type(exc).__name__}): "
            "re-download it or pass another --weights file"
        ) from exc
    if isinstance(obj, dict):
        for key in NESTED_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(
            f"{path}: holds a {type(obj).__name__}, not a state dict (save model.state_dict(), or a dict with "
            f"one of the keys {', '.join(NESTED_KEYS)})"
        )
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k.removeprefix("module."): v for k, v in obj.items()}
    return obj


def load_into(model: nn.Module, state: dict[str, torch.Tensor], path: Path, name: str) -> None:
    """``model.load_state_dict(state, strict=True)``, with a one-line :class:`UserError` on a mismatch."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UserError(f"{path}: these are not {name} weights ({weights_mismatch(model, state)})") from exc


def classes_in(state: dict[str, torch.Tensor], classifier: str) -> int | None:
    """The number of outputs of the classifier module ``classifier`` (dotted name) in a state dict, or ``None``
    when the file has no such weight."""
    weight = state.get(f"{classifier}.weight")
    return int(weight.shape[0]) if weight is not None and weight.dim() >= 1 else None


def tensors_digest(model: nn.Module) -> str:
    """SHA-256 of a model's state dict (names, shapes, bytes): the weights id of weights loaded by a library
    (timm's pretrained download), whose file we do not see."""
    import hashlib

    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def weights_mismatch(model: nn.Module, state: dict[str, torch.Tensor], show: int = 3) -> str:
    """A one-line summary of why ``state`` does not fit ``model``: counts of missing, unexpected and
    wrong-shape tensors with the first few names, and which architecture the file looks like."""
    target = model.state_dict()
    missing = [k for k in target if k not in state]
    unexpected = [k for k in state if k not in target]
    shapes = [k for k in target if k in state and tuple(state[k].shape) != tuple(target[k].shape)]
    parts = []
    for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if keys:
            more = f", … {len(keys) - show} more" if len(keys) > show else ""
            parts.append(f"{len(keys)} {label}: {', '.join(keys[:show])}{more}")
    return "; ".join(parts + [f"the file looks like {guess_architecture(state)}"])


def guess_architecture(state: dict[str, torch.Tensor]) -> str:
    """A best guess at what network a state dict belongs to, from its tensor names and output shape."""
    keys = set(state)
    fc = state.get("fc.weight")
    classes = f", {fc.shape[0]} classes" if fc is not None else ""
    if "layer4.0.conv3.weight" in keys:
        return f"a bottleneck ResNet (ResNet-50/101/152){classes}"
    if "layer4.0.conv2.weight" in keys:
        return f"a basic-block ResNet (ResNet-18/34){classes}"
    if "conv_stem.weight" in keys or any(k.startswith("_blocks.") for k in keys):
        return "an EfficientNet"
    if any(k.startswith("features.") for k in keys):
        return "a VGG, DenseNet, MobileNet or similar torchvision model"
    return f"an unknown network ({len(keys)} tensors)"
