"""Loading images as RGB uint8 arrays, validating a whole folder before any computation.

Conversions (each tested): greyscale and 1-bit → RGB; RGBA/LA/palette with transparency → composited on
white; CMYK/YCbCr/LAB → RGB; 16-bit greyscale and 32-bit integer → 8-bit by scaling the 0–65535 range;
float images → 8-bit from their [0, 1] range; multi-frame GIF/TIFF → the first frame; EXIF orientation applied.
"""

from __future__ import annotations

import functools
import io
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from xaireport.core.cache import bytes_digest
from xaireport.core.errors import UserError

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


#: The longest side over the shortest side that an image may have: every image is resized to the model's input
#: by its shorter side, so a 100000 × 1 strip would become 25,600,000 × 256 pixels (~20 GB) before the crop.
MAX_ASPECT_RATIO = 50

#: Bytes per pixel of the largest uncompressed image format read (16-bit RGBA): with ``max_megapixels`` it bounds
#: the file size read into memory, checked before reading.
MAX_BYTES_PER_PIXEL = 8


def max_file_bytes(max_megapixels: float) -> int:
    """The largest file read for an image of at most ``max_megapixels`` (uncompressed, plus 1 MB of metadata)."""
    return int(max_megapixels * 1e6 * MAX_BYTES_PER_PIXEL) + 2**20


class ImageError(ValueError):
    """One file that cannot be used, with the reason."""


@dataclass(frozen=True)
class LoadedImage:
    """One validated input image. A folder's images hold no pixels (``pixels`` is ``None``): :attr:`array` decodes
    the file again when a step needs it (the last few decoded are kept), so memory stays flat in the number of
    images; the file's bytes must still have ``digest``."""

    path: Path
    pixels: np.ndarray | None  # H×W×3 uint8, or None: decoded on use
    digest: str  # SHA-256 of the file's bytes: part of every cache key
    max_megapixels: float = 64

    @property
    def array(self) -> np.ndarray:
        """The RGB uint8 pixels (H×W×3)."""
        if self.pixels is not None:
            return self.pixels
        return _decoded(self.path, self.digest, self.max_megapixels)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stem(self) -> str:
        return self.path.stem


#: How many decoded images stay in memory (a step reads one image at a time, chapter 4 two views of one).
DECODED_KEPT = 4


@functools.lru_cache(maxsize=DECODED_KEPT)
def _decoded(path: Path, digest: str, max_megapixels: float) -> np.ndarray:
    try:
        arr, now = read_image(path, max_megapixels)
    except ImageError as exc:
        raise UserError(f"{path}: {exc}") from exc
    if now != digest:
        raise UserError(f"{path}: the file changed while the report was running: run it again")
    arr.setflags(write=False)
    return arr


def to_rgb(img: Image.Image) -> np.ndarray:
    """Convert any Pillow image to an H×W×3 uint8 array (see the module docstring for the rules)."""
    img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        arr = np.clip(arr / 257.0, 0, 255).round().astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        arr = np.clip(arr, 0.0, 1.0) * 255.0 if np.nanmax(arr) <= 1.0 else np.clip(arr, 0, 255)
        arr = np.nan_to_num(arr).round().astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    elif mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(arr)


def read_image(path: str | os.PathLike, max_megapixels: float = 64) -> tuple[np.ndarray, str]:
    """Read one file as RGB uint8 and return it with the SHA-256 of its bytes.

    Only a regular file (or a link to one) is read, and only when its size fits ``max_megapixels``
    (:func:`max_file_bytes`), checked before reading.

    Raises:
        ImageError: not a regular file, too many bytes, empty, unreadable, truncated, larger than
            ``max_megapixels``, or a strip beyond :data:`MAX_ASPECT_RATIO`.
    """
    p = Path(path)
    limit = max_file_bytes(max_megapixels)
    try:
        info = p.stat()  # follows a symbolic link; never opens the file (a FIFO would block)
        if not stat.S_ISREG(info.st_mode):
            raise ImageError("not a regular file (a device, pipe, socket or folder): point it at an image file")
        if info.st_size > limit:
            raise ImageError(
                f"{info.st_size / 2**20:.0f} MB is more than an image of {max_megapixels:g} MP can take "
                f"({limit / 2**20:.0f} MB): downscale it, or raise images.max_megapixels in _quarto.yml"
            )
        with open(p, "rb") as fh:
            data = fh.read(limit + 1)  # the file may have grown since stat
    except OSError as exc:
        raise ImageError(f"cannot read the file ({exc.strerror or exc})") from exc
    if len(data) > limit:
        raise ImageError(f"the file grew past {limit / 2**20:.0f} MB while being read: replace it with the image")
    if not data:
        raise ImageError("empty file (0 bytes): replace it with the image or remove it")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                img = Image.open(io.BytesIO(data))
                w, h = img.size
                if w * h > max_megapixels * 1e6:
                    raise ImageError(
                        f"{w}×{h} pixels ({w * h / 1e6:.0f} MP) is above the {max_megapixels:g} MP "
                        "limit: downscale it, or raise images.max_megapixels in _quarto.yml"
                    )
                if w == 0 or h == 0:
                    raise ImageError("image has no pixels")
                if max(w, h) > MAX_ASPECT_RATIO * min(w, h):
                    raise ImageError(
                        f"{w}×{h} pixels is a strip (aspect ratio {max(w, h) / min(w, h):.0f}:1, the limit is "
                        f"{MAX_ASPECT_RATIO}:1): resized to the model's input by its shorter side it would need "
                        f"{max(w, h) / min(w, h) * 256 * 256 * 3 / 2**30:.1f} GB; crop it first"
                    )
                img.load()
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageError("not an image format Pillow can read (use jpg, png, webp, bmp, gif or tiff)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"corrupt or truncated image ({exc}): re-export or remove it") from exc
    return to_rgb(img), bytes_digest(data)


def check_image_bytes(data: bytes) -> str | None:
    """Why these bytes are not a usable image (empty, unknown format, broken structure), or ``None``: a cheap
    check that does not decode the pixels (``PIL.Image.verify``)."""
    if not data:
        return "empty file (0 bytes): replace it with the image or remove it"
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
    except UnidentifiedImageError:
        return "not an image format Pillow can read (use jpg, png, webp, bmp, gif or tiff)"
    except Exception as exc:  # noqa: BLE001 - any failure to parse is the same user problem
        return f"corrupt or truncated image ({exc}): re-export or remove it"
    return None


def load_image(path: str | os.PathLike, max_megapixels: float = 64) -> LoadedImage:
    """:func:`read_image` for one file, as a :class:`LoadedImage`; errors become :class:`UserError`."""
    try:
        arr, digest = read_image(path, max_megapixels)
    except ImageError as exc:
        raise UserError(f"{path}: {exc}") from exc
    return LoadedImage(Path(path), arr, digest)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files (by extension, case-insensitive) directly in ``folder``, sorted by name; hidden files skipped.

    A broken or looping symbolic link, a pipe or a device with an image extension is listed too, so that loading
    names it as a bad file instead of skipping it silently.
    """
    root = Path(folder)
    if not root.exists():
        raise UserError(f"{root}: images folder not found: pass --images DIR or set images.folder in _quarto.yml")
    if not root.is_dir():
        raise UserError(f"{root}: not a folder: pass the folder that holds the images")
    return sorted(
        p
        for p in root.iterdir()
        if (p.is_symlink() or not p.is_dir()) and not p.name.startswith(".") and p.suffix.lower() in EXTENSIONS
    )


#: The files written per image, named ``<stem><suffix>`` (:mod:`xaireport.outputs`: maps, overlays, masks, LIME's
#: arrays and views; chapter 2's per-image rows).
OUTPUT_SUFFIXES = (".npy", ".png", "-mask.png", ".npz", "-boundaries.png", "-hide-rest.png")


def check_unique_stems(paths: list[Path]) -> None:
    """Outputs are named by the file's stem (``cat.npy``, ``cat.png``, ``cat-mask.png``, …): refuse two images
    whose output names would be the same file — names that differ only in the extension or in case
    (``cat.png``, ``Cat.jpg``), or one image's output that is another's (``cat.png``'s mask ``cat-mask.png`` and
    ``cat-mask.png``'s overlay).

    Raises:
        UserError: one line naming every colliding group.
    """
    owners: dict[str, set[str]] = {}
    for p in paths:
        for suffix in OUTPUT_SUFFIXES:
            owners.setdefault(f"{p.stem}{suffix}".lower(), set()).add(p.name)
    groups: list[list[str]] = []
    for names in owners.values():
        group = sorted(names)
        if len(group) > 1 and group not in groups:
            groups.append(group)
    if groups:
        listed = "; ".join(" and ".join(names) for names in groups)
        raise UserError(
            f"{paths[0].parent}: images whose outputs would overwrite each other ({listed}): rename or remove one "
            "of each"
        )


def load_folder(folder: str | os.PathLike, limit: int | None = None, max_megapixels: float = 64) -> list[LoadedImage]:
    """Load and validate every image of a folder before anything is computed.

    Args:
        folder: the folder (files with other extensions, such as a credits file, are ignored).
        limit: keep the first ``limit`` images by name (after validating only those).
        max_megapixels: larger images are rejected (decompression-bomb guard).

    Raises:
        UserError: the folder is missing or holds no image, or any image is bad; the message lists every bad
            file with its reason, one per line.
    """
    paths = list_images(folder)
    if not paths:
        raise UserError(
            f"{folder}: no images found (looked for {', '.join(EXTENSIONS)}): "
            "add images or point --images / images.folder at another folder"
        )
    if limit is not None:
        paths = paths[:limit]
    check_unique_stems(paths)
    loaded, problems = [], []
    for p in paths:
        if p.is_symlink() and not p.exists():
            problems.append(f"{p}: broken or looping symbolic link: point it at an image or remove it")
            continue
        try:
            arr, digest = read_image(p, max_megapixels)
        except ImageError as exc:
            problems.append(f"{p}: {exc}")
            continue
        loaded.append(LoadedImage(p, None, digest, max_megapixels))  # validated; decoded again when used
        del arr
    if problems:
        raise UserError(
            f"{len(problems)} of {len(paths)} images cannot be used; nothing was computed:\n" + "\n".join(problems)
        )
    return loaded
