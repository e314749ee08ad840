"""A model's own preprocessing (resize, crop, interpolation, mean, std), from timm's pretrained config or
torchvision's weights transforms: the report never assumes a 224 crop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def torchvision_preprocessing(weights: Any) -> dict:
    """Resize, crop, interpolation, mean and std of a torchvision weights enum's ``transforms()``."""
    t = weights.transforms()
    return {
        "resize_to": int(t.resize_size[0]),
        "crop_size": int(t.crop_size[0]),
        "interpolation": t.interpolation.value,
        "mean": tuple(t.mean),
        "std": tuple(t.std),
    }


def timm_preprocessing(model: nn.Module) -> dict:
    """Resize, crop, interpolation, mean and std of a timm model's pretrained config
    (``timm.data.resolve_data_config``; the resize is ``floor(crop / crop_pct)``, as timm's eval transform)."""
    import math

    from timm.data import resolve_data_config

    cfg = resolve_data_config({}, model=model)
    size = int(cfg["input_size"][-1])
    return {
        "resize_to": math.floor(size / cfg["crop_pct"]),
        "crop_size": size,
        "interpolation": cfg["interpolation"],
        "mean": tuple(cfg["mean"]),
        "std": tuple(cfg["std"]),
    }
