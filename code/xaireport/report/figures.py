"""Figure helpers shared by the chapters: overlays, image grids, saving (the page shows the saved file)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 110

F = TypeVar("F", bound=Callable[..., Path])


class Unhashable(TypeError):
    """An input :func:`inputs_digest` cannot describe: the figure is drawn every time."""


def inputs_digest(*objs: Any) -> str:
    """SHA-256 of a figure's inputs: arrays by dtype, shape and bytes, data frames by their values and labels,
    dataclasses field by field, an image by its file digest; :class:`Unhashable` for anything else."""
    import numpy as np
    import pandas as pd

    from xaireport.images import LoadedImage

    h = hashlib.sha256()

    def walk(o: Any) -> None:
        h.update(type(o).__name__.encode())
        if isinstance(o, LoadedImage):
            h.update(f"{o.path.name}:{o.digest}".encode())
        elif isinstance(o, np.ndarray):
            h.update(f"{o.dtype}{o.shape}".encode())
            h.update(np.ascontiguousarray(o).tobytes())
        elif isinstance(o, pd.DataFrame):
            h.update(repr((list(o.columns), list(o.index))).encode())
            h.update(pd.util.hash_pandas_object(o, index=False).to_numpy().tobytes())
        elif o is None or isinstance(o, (str, int, float, bool, np.generic, Path)):
            h.update(repr(o).encode())
        elif isinstance(o, (list, tuple)):
            h.update(str(len(o)).encode())
            for x in o:
                walk(x)
        elif isinstance(o, dict):
            h.update(str(len(o)).encode())
            for k, v in o.items():
                walk(k)
                walk(v)
        elif dataclasses.is_dataclass(o) and not isinstance(o, type):
            for f in dataclasses.fields(o):
                h.update(f.name.encode())
                walk(getattr(o, f.name))
        else:
            raise Unhashable(type(o).__name__)

    walk(objs)
    return h.hexdigest()


def cached_figure(fn: F) -> F:
    """For a figure function ``fn(..., path) -> Path``: draw and save only when the file at ``path`` was not drawn
    from these inputs by this code. A stamp beside the file (``.<name>.inputs``) holds the digest of the
    function's name, its arguments (:func:`inputs_digest`), the code of its module and everything that imports
    (:func:`xaireport.core.codegraph.code_version`) and matplotlib's version. A page whose results are cached then
    shows its figures without drawing them again (drawing and saving chapter 2's figures took 6 s a kernel, and
    every page runs in three kernels)."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Path:
        from xaireport.core.codegraph import code_version
        from xaireport.core.fileio import write_bytes

        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        inputs = dict(bound.arguments)
        path = Path(inputs.pop("path"))
        try:
            key = inputs_digest(
                fn.__module__, fn.__qualname__, code_version(fn.__module__), matplotlib.__version__, inputs
            )
        except Unhashable:
            return fn(*args, **kwargs)
        stamp = path.with_name(f".{path.name}.inputs")
        if path.is_file() and stamp.is_file() and stamp.read_text() == key:
            return path
        stamp.unlink(missing_ok=True)  # never left describing a file that is being replaced
        out = fn(*args, **kwargs)
        write_bytes(stamp, key.encode())
        return out

    return wrapper  # type: ignore[return-value]


#: The largest printed size of a figure, in inches: the A4 text area of the PDFs (17 cm wide with 2 cm margins;
#: 22.5 cm of its 25.7 cm height, leaving room for the caption and the page number).
PRINT_WIDTH_IN, PRINT_HEIGHT_IN = 17 / 2.54, 22.5 / 2.54


def save_figure(fig: plt.Figure, path: str | os.PathLike) -> Path:
    """Save as PNG (atomically). A figure larger than the PDF's text area keeps its pixels but gets a higher
    resolution in its metadata, so that Typst prints it within the text area (the website shows the pixels)."""
    from xaireport.core.fileio import atomic_path

    p = Path(path)
    try:
        with atomic_path(p) as tmp:  # a unique temporary name: two renders into one folder never collide
            fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png")
            fit_to_print(tmp)
    finally:
        plt.close(fig)
    return p


def print_dpi(width_px: int, height_px: int, dpi: float = DPI) -> float:
    """The resolution at which a ``width_px`` × ``height_px`` image prints within the text area (``dpi`` when it
    already does)."""
    return max(dpi, width_px / PRINT_WIDTH_IN, height_px / PRINT_HEIGHT_IN)


def fit_to_print(png: Path) -> None:
    """Rewrite the PNG's resolution metadata (pixels unchanged) so that it prints within the text area."""
    from PIL import Image

    with Image.open(png) as im:
        im.load()
        dpi = print_dpi(*im.size)
        if dpi > DPI + 1e-6:
            im.save(png, format="PNG", dpi=(dpi, dpi))


def image_grid(
    rows: Sequence[Sequence[np.ndarray]],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    cell_titles: Sequence[Sequence[str]] | None = None,
    cmap: str | None = None,
    size: float = 2.0,
    titles_only: bool = False,
    colorbar: str | None = None,
) -> plt.Figure:
    """A grid of images: one row per image, one column per view; 2-D cells (maps in [0, 1]) use ``cmap``, and
    ``colorbar`` (its label) adds one colour bar for them. Labels and titles are shown as typed
    (``parse_math=False``: a ``$`` in a file or class name is not mathtext)."""
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
                ax.set_title(cell_titles[r][c], fontsize=7, parse_math=False)
            elif r == 0:
                ax.set_title(col_labels[c], fontsize=9, parse_math=False)
            if c == 0:
                ax.set_ylabel(row_labels[r], fontsize=8, parse_math=False)
    if cell_titles is not None and not titles_only:
        for c, label in enumerate(col_labels):
            title = cell_titles[0][c]
            axes[0][c].set_title(f"{label}\n{title}" if title else label, fontsize=7, parse_math=False)
    fig.tight_layout()
    if colorbar is not None:
        add_colorbar(fig, axes, cmap or MAP_CMAP, colorbar)
    return fig


# --- How a map is shown -----------------------------------------------------------------------------------------

#: The colour map of a map drawn on its own (dark = no evidence, bright = the most relevant pixels): perceptually
#: uniform, so a sparse map's fine structure stays visible, in colour and in greyscale print.
MAP_CMAP = "inferno"


def add_colorbar(fig: plt.Figure, axes: Any, cmap: str, label: str) -> None:
    """One colour bar for the [0, 1] maps of ``axes`` (all drawn on the same scale), labelled ``label`` (as typed)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), cmap), ax=axes, fraction=0.025, pad=0.02, aspect=30)
    bar.set_ticks([0, 0.5, 1])
    bar.ax.tick_params(labelsize=7)
    bar.set_label(label, fontsize=7, parse_math=False)
