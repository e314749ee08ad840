"""A model's own preprocessing (resize, crop, interpolation, mean, std), from timm's pretrained config or
torchvision's weights transforms: the report never assumes a 224 crop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
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


_RESAMPLING = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}  # PIL.Image.Resampling


def crop(image: np.ndarray, resize_to: int, crop_size: int, interpolation: str = "bilinear") -> np.ndarray:
    """RGB uint8 H×W×3 → the model's view: shorter side to ``resize_to`` (aspect ratio kept) with
    ``interpolation``, then the centre ``crop_size`` square, zero-padded where the image is smaller.

    With PIL and numpy only (no torch), and equal pixel for pixel to torchvision's ``Resize(resize_to)`` +
    ``CenterCrop(crop_size)`` on a PIL image (tested), so a page whose results are cached can show the crops
    without importing torch.
    """
    import numpy as np
    from PIL import Image

    if interpolation not in _RESAMPLING:
        raise ValueError(f"interpolation {interpolation!r}: expected one of {', '.join(_RESAMPLING)}")
    h, w = image.shape[:2]
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = resize_to, int(resize_to * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    pil = Image.fromarray(np.ascontiguousarray(image))
    if (new_w, new_h) != (w, h):
        pil = pil.resize((new_w, new_h), _RESAMPLING[interpolation])
    out = np.asarray(pil, dtype=np.uint8)
    if new_w < crop_size or new_h < crop_size:  # torchvision pads left/top by floor, right/bottom by ceil
        pad_h, pad_w = max(crop_size - new_h, 0), max(crop_size - new_w, 0)
        out = np.pad(out, ((pad_h // 2, (pad_h + 1) // 2), (pad_w // 2, (pad_w + 1) // 2), (0, 0)))
        new_h, new_w = out.shape[:2]
    top, left = int(round((new_h - crop_size) / 2.0)), int(round((new_w - crop_size) / 2.0))
    return out[top : top + crop_size, left : left + crop_size].copy()
