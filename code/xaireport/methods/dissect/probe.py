"""Probe image sets for CLIP-Dissect: the images on which units and CLIP are compared.

Sources: ``places365-val`` (torchvision's Places365 validation split, small 256 × 256 images, downloaded into
``root`` or ``~/.cache/xaireport/places365``), ``imagenet-val`` and ``folder`` (a local folder, searched
recursively), ``broden`` (the Broden 224 px images, downloaded), ``generated`` (a tiny synthetic set of
coloured shapes and stripes, for plumbing checks only).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from xaireport.core.errors import UserError
from xaireport.images import EXTENSIONS

PLACES365_VAL_URL = "http://data.csail.mit.edu/places/places365/val_256.tar"
BRODEN_URL = "http://netdissect.csail.mit.edu/data/broden1_224.zip"
SOURCES = ("places365-val", "imagenet-val", "folder", "broden", "generated")


@dataclass(frozen=True)
class ProbeSet:
    """The probe images (paths) and a digest of their contents (part of every cache key)."""

    name: str
    paths: tuple[Path, ...]
    digest: str

    def __len__(self) -> int:
        return len(self.paths)


def _default_root(source: str) -> Path:
    return Path(os.environ.get("XAIREPORT_DATA", Path.home() / ".cache" / "xaireport")) / source


def _list_images(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file() and not p.name.startswith(".")
    )


def _digest(paths: list[Path]) -> str:
    """Digest of the probe images' names and bytes; every file is checked on the way (header and structure,
    without decoding), so that a bad probe image is named before the forward pass, not in a worker process.

    Raises:
        UserError: every bad file, one per line.
    """
    from xaireport.images import check_image_bytes

    h = hashlib.sha256()
    problems = []
    for p in paths:
        h.update(p.name.encode())
        try:
            data = p.read_bytes()
        except OSError as exc:
            problems.append(f"{p}: cannot read the file ({exc.strerror or exc})")
            continue
        reason = check_image_bytes(data)
        if reason:
            problems.append(f"{p}: {reason}")
        h.update(hashlib.sha256(data).digest())
    if problems:
        raise UserError(
            f"{len(problems)} of {len(paths)} probe images cannot be used; nothing was computed:\n"
            + "\n".join(problems)
        )
    return h.hexdigest()


def generate(root: Path, n: int, seed: int = 0, size: int = 96) -> list[Path]:
    """Write ``n`` synthetic images (solid colours, stripes, discs) to ``root`` (idempotent)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    paths = []
    for i in range(n):
        c1, c2 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        kind = i % 3
        if kind == 0:
            mask = np.zeros((size, size), bool)
        elif kind == 1:
            period = int(rng.integers(6, 24))
            mask = ((xx + yy * rng.integers(0, 2)) // period) % 2 == 0
        else:
            cy, cx, r = rng.integers(20, size - 20, 2).tolist() + [int(rng.integers(10, 30))]
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
        img = np.where(mask[..., None], c2, c1).astype(np.uint8)
        p = root / f"probe_{i:04d}.png"
        if not p.exists():
            Image.fromarray(img).save(p)
        paths.append(p)
    return paths


def _places365(root: Path) -> list[Path]:
    images = root / "val_256"
    if not images.is_dir() or not any(images.iterdir()):
        try:
            from torchvision.datasets import Places365

            Places365(str(root), split="val", small=True, download=True)
        except Exception as exc:  # noqa: BLE001 - any download failure is the same user problem
            raise UserError(
                f"cannot download the Places365 validation images ({PLACES365_VAL_URL}: "
                f"{type(exc).__name__}): download and extract val_256.tar (and filelist_places365-"
                f"standard.tar) into {root}, or set dissection.probe.root / --probe to a local "
                "folder of images"
            ) from exc
    return _list_images(images)


def _broden(root: Path) -> list[Path]:
    images = root / "broden1_224" / "images"
    if not images.is_dir():
        try:
            from torchvision.datasets.utils import download_and_extract_archive

            download_and_extract_archive(BRODEN_URL, str(root))
        except Exception as exc:  # noqa: BLE001
            raise UserError(
                f"cannot download Broden ({BRODEN_URL}: {type(exc).__name__}): download and unzip "
                f"it into {root} (so that {images} exists), or use a local probe folder"
            ) from exc
    return _list_images(images)


def load_probe(
    source: str, root: str | Path | None = None, size: int | None = None, seed: int = 0, cache_dir: Path | None = None
) -> ProbeSet:
    """Resolve a probe set and, with ``size``, a seeded random subset of it.

    Raises:
        UserError: unknown source, missing local folder, no images, or a failed download.
    """
    if source not in SOURCES:
        raise UserError(f"unknown probe source {source!r}: use one of {', '.join(SOURCES)}")
    base = Path(root).expanduser() if root else None
    if source == "generated":
        folder = base or (cache_dir or _default_root("generated")) / f"generated-{size or 48}-{seed}"
        paths = generate(folder, size or 48, seed)
    elif source in ("imagenet-val", "folder"):
        if base is None:
            raise UserError(
                f"the {source} probe needs a local folder: set dissection.probe.root in _quarto.yml or pass --probe DIR"
            )
        if base.is_file():
            raise UserError(f"{base}: the probe is a file: give a folder of images (dissection.probe.root / --probe)")
        if not base.is_dir():
            raise UserError(f"{base}: probe folder not found: check dissection.probe.root / --probe")
        paths = _list_images(base)
    elif source == "places365-val":
        paths = _places365(base or _default_root("places365"))
    else:
        paths = _broden(base or _default_root("broden"))
    if not paths:
        raise UserError(f"{base}: no probe images found (looked for {', '.join(EXTENSIONS)} recursively)")
    if size is not None and size < len(paths) and source != "generated":
        rng = np.random.default_rng(seed)
        paths = [paths[i] for i in sorted(rng.choice(len(paths), size=size, replace=False))]
    return ProbeSet(source, tuple(paths), _digest(paths))
