"""The per-image output files of explanations, written the same way by the commands (``xaireport cams``,
``explain``, ``lime``) and by chapters 2 and 3 (every file atomically), and the image views they contain."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from PIL import Image

from xaireport.core.fileio import atomic_path, save_csv, save_npy, save_npz

if TYPE_CHECKING:
    from xaireport.methods.explanations import Explanation, LimeResult


def overlay(crop: np.ndarray, heatmap: np.ndarray, image_weight: float = 0.5) -> np.ndarray:
    """The jet overlay of a [0, 1] map on a uint8 RGB crop, as the ``grad-cam`` package's ``show_cam_on_image``
    computes it (``use_rgb=True``; equal to it, tested) but without importing that package, whose ``__init__``
    imports torch: a page drawing cached maps then starts in a second instead of five."""
    import cv2

    img = crop.astype(np.float32) / 255.0
    colours = cv2.applyColorMap((255 * heatmap.astype(np.float32)).astype(np.uint8), cv2.COLORMAP_JET)
    colours = np.asarray(cv2.cvtColor(colours, cv2.COLOR_BGR2RGB), dtype=np.float32) / 255
    if not 0 <= image_weight <= 1:
        raise ValueError(f"image_weight should be in [0, 1], got {image_weight}")
    cam = (1 - image_weight) * colours + image_weight * img
    return (255 * (cam / np.max(cam))).astype(np.uint8)


def save_png(array: np.ndarray, path: str | os.PathLike) -> Path:
    """Save a uint8 RGB or greyscale array (float [0, 1] greyscale is scaled to 0–255), atomically."""
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
    with atomic_path(path) as tmp:  # a unique temporary name: two runs into one --out never collide
        Image.fromarray(array).save(tmp, format="PNG")
    return Path(path)


def write_map_outputs(
    out: Path, stem: str, crop: np.ndarray, result: Explanation, shown: np.ndarray | None = None
) -> None:
    """``OUT/<method>/<stem>.npy`` (the map, float32, signed where the method is), ``<stem>.png`` (overlay of
    ``shown``, the map as the figures draw it in [0, 1]: ``xaireport.methods.display.displayed``; default: its
    positive evidence scaled to its maximum), ``<stem>-mask.png`` (the same in greyscale)."""
    d = Path(out) / result.method
    d.mkdir(parents=True, exist_ok=True)
    view = result.heatmap if shown is None else shown
    save_npy(d / f"{stem}.npy", result.map.astype(np.float32))
    save_png(overlay(crop, view), d / f"{stem}.png")
    save_png(view, d / f"{stem}-mask.png")


def write_predictions(path: Path, rows: list[tuple[str, int, str, float]]) -> None:
    save_csv(
        pd.DataFrame(rows, columns=["image", "class_index", "class_name", "probability"]), path, float_format="%.6f"
    )


def boundaries(result: LimeResult) -> np.ndarray:
    """The crop with the top superpixels outlined in yellow (uint8)."""
    from skimage.segmentation import mark_boundaries

    return (mark_boundaries(result.image / 255.0, result.mask.astype(int), color=(1, 1, 0)) * 255).astype(np.uint8)


def hide_rest(result: LimeResult) -> np.ndarray:
    """The crop with everything but the top superpixels blacked out (lime's ``hide_rest=True``)."""
    return np.where(result.mask[..., None], result.image, 0).astype(np.uint8)


def write_lime_outputs(out: Path, stem: str, result: LimeResult) -> None:
    """``OUT/<stem>.npz`` (segments, weights, mask, heatmap, class) and the PNG views."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_npz(
        out / f"{stem}.npz",
        segments=result.segments,
        weights=result.weights,
        mask=result.mask,
        heatmap=result.heatmap,
        class_index=result.class_index,
        class_name=result.class_name,
        probability=result.score,
        r2=result.r2,
    )
    save_png(boundaries(result), out / f"{stem}-boundaries.png")
    save_png(hide_rest(result), out / f"{stem}-hide-rest.png")
