"""Figure helpers shared by the chapters: overlays, image grids, saving (the page shows the saved file)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from pytorch_grad_cam.utils.image import show_cam_on_image  # noqa: E402

DPI = 110


def overlay(crop: np.ndarray, heatmap: np.ndarray, image_weight: float = 0.5) -> np.ndarray:
    """The ``grad-cam`` package's jet overlay of a [0, 1] map on a uint8 RGB crop."""
    return show_cam_on_image(crop.astype(np.float32) / 255.0, heatmap.astype(np.float32), use_rgb=True,
                             image_weight=image_weight)


def save_png(array: np.ndarray, path: str | os.PathLike) -> Path:
    """Save a uint8 RGB or greyscale array (float [0, 1] greyscale is scaled to 0–255), atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
    tmp = p.with_name(f".{p.name}.tmp")
    Image.fromarray(array).save(tmp, format="PNG")
    os.replace(tmp, p)
    return p


def save_figure(fig: plt.Figure, path: str | os.PathLike) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png")
    plt.close(fig)
    os.replace(tmp, p)
    return p


def image_grid(rows: Sequence[Sequence[np.ndarray]], row_labels: Sequence[str], col_labels: Sequence[str],
               cell_titles: Sequence[Sequence[str]] | None = None, cmap: str | None = None,
               size: float = 2.0, titles_only: bool = False) -> plt.Figure:
    """A grid of images: one row per image, one column per view; greyscale cells use ``cmap``."""
    n_rows, n_cols = len(rows), len(col_labels)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(size * n_cols, size * n_rows + 0.3), squeeze=False)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            ax = axes[r][c]
            ax.imshow(cell, cmap=cmap if cell.ndim == 2 else None, vmin=0, vmax=1 if cell.ndim == 2 else None)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if cell_titles is not None:
                ax.set_title(cell_titles[r][c], fontsize=7)
            elif r == 0:
                ax.set_title(col_labels[c], fontsize=9)
            if c == 0:
                ax.set_ylabel(row_labels[r], fontsize=8)
    if cell_titles is not None and not titles_only:
        for c, label in enumerate(col_labels):
            cell = cell_titles[0][c]
            axes[0][c].set_title(f"{label}\n{cell}" if cell else label, fontsize=7)
    fig.tight_layout()
    return fig
