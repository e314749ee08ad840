"""Class names the models and chapter 1 share: ImageNet-1k's (short, as torchvision's weights name them; full, as
timm's WordNet descriptions) and the Places365 categories (a local file, or the Places365 repository's)."""

from __future__ import annotations

import os
from pathlib import Path

from xaireport.core.downloads import download
from xaireport.core.errors import UserError

PLACES365_CATEGORIES_URL = "https://raw.githubusercontent.com/CSAILVision/places365/master/categories_places365.txt"


def imagenet_short_names() -> list[str]:
    """The 1,000 ImageNet-1k class names as torchvision's weights metadata gives them (``tench``, ``goldfish``)."""
    import torchvision

    return list(torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_descriptions() -> list[str]:
    """The 1,000 ImageNet-1k classes as their full WordNet lemma strings, in class-index order
    (``tench, Tinca tinca``), from the files timm ships (no download): the concept set of CLIP-Dissect's
    final-layer check. Two classes share the string ``crane`` (the bird and the machine)."""
    from timm.data import ImageNetInfo

    return list(ImageNetInfo("imagenet-1k").label_descriptions())


def places365_categories(path: str | os.PathLike | None = None) -> list[str]:
    """The 365 Places categories in output order (``/a/airfield 0`` → ``airfield``; ``/b/bus_station/indoor`` →
    ``bus station indoor``), from a local file or downloaded from the Places365 repository."""
    src = Path(path) if path else download(PLACES365_CATEGORIES_URL)
    if not src.is_file():
        raise UserError(f"{src}: Places365 categories file not found")
    names = []
    for line in src.read_text(encoding="utf-8").splitlines():
        if line.strip():
            label = line.split()[0]
            names.append(label[3:].replace("/", " ").replace("_", " "))
    if len(names) != 365:
        raise UserError(f"{src}: expected 365 Places365 categories, found {len(names)}")
    return names
