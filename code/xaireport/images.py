"""Loading images as RGB uint8 arrays, validating a whole folder before any computation.

Conversions (each tested): greyscale and 1-bit → RGB; RGBA/LA/palette with transparency → composited on
white; CMYK/YCbCr/LAB → RGB; 16-bit greyscale and 32-bit integer → 8-bit by scaling the 0–65535 range;
float images → 8-bit from their [0, 1] range; multi-frame GIF/TIFF → the first frame; EXIF orientation applied.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from xaireport.core.cache import bytes_digest
from xaireport.core.errors import UserError

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


class ImageError(ValueError):
    """One file that cannot be used, with the reason."""


@dataclass(frozen=True)
class LoadedImage:
    """One validated input image."""

    path: Path
    array: np.ndarray  # H×W×3 uint8
    digest: str  # SHA-256 of the file's bytes: part of every cache key

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stem(self) -> str:
        return self.path.stem


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

    Raises:
        ImageError: empty, unreadable, truncated, or larger than ``max_megapixels``.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read the file ({exc.strerror or exc})") from exc
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

    A broken or looping symbolic link with an image extension is listed too, so that loading names it as a
    bad file instead of skipping it silently.
    """
    root = Path(folder)
    if not root.exists():
        raise UserError(f"{root}: images folder not found: pass --images DIR or set images.folder in _quarto.yml")
    if not root.is_dir():
        raise UserError(f"{root}: not a folder: pass the folder that holds the images")
    return sorted(
        p
        for p in root.iterdir()
        if (p.is_file() or p.is_symlink()) and not p.name.startswith(".") and p.suffix.lower() in EXTENSIONS
    )


def check_unique_stems(paths: list[Path]) -> None:
    """Outputs are named by the file's stem (``cat.npy``, ``cat.png``): two images whose names differ only in
    the extension (or in case) would overwrite each other's outputs.

    Raises:
        UserError: one line naming every colliding group.
    """
    groups: dict[str, list[str]] = {}
    for p in paths:
        groups.setdefault(p.stem.lower(), []).append(p.name)
    clashes = [names for names in groups.values() if len(names) > 1]
    if clashes:
        listed = "; ".join(" and ".join(names) for names in clashes)
        raise UserError(
            f"{paths[0].parent}: images share a name and their outputs would overwrite each other "
            f"({listed}): rename or remove one of each"
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
        loaded.append(LoadedImage(p, arr, digest))
    if problems:
        raise UserError(
            f"{len(problems)} of {len(paths)} images cannot be used; nothing was computed:\n" + "\n".join(problems)
        )
    return loaded
