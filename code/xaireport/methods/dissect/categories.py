"""Coarse categories for unit labels: colour, texture, object, scene, other.

A label is put in a category by exact, lower-cased lookup in word lists: basic colour terms; the 47 texture
names of the Describable Textures Dataset; scene words from the Places365 category names; object words from
the ImageNet class names; everything else is "other" (abstract words, verbs, function words, ...). The
lists are fixed here, so the grouping is reproducible and offline; a word in two lists takes the first of
colour, texture, scene, object.
"""

from __future__ import annotations

import re
from functools import lru_cache

CATEGORIES = ("colour", "texture", "object", "scene", "other")

COLOURS = frozenset(
    """
red green blue yellow orange purple pink brown black white grey gray violet indigo cyan magenta turquoise teal
beige tan maroon navy olive lime gold golden silver bronze crimson scarlet azure lavender ivory khaki coral
amber ochre blond blonde burgundy charcoal cream emerald fuchsia mauve plum rust salmon sepia
""".split()
)

TEXTURES = frozenset(
    """
banded blotchy braided bubbly bumpy chequered checkered cobwebbed cracked crosshatched crystalline dotted
fibrous flecked freckled frilly gauzy grid grooved honeycombed interlaced knitted lacelike lined marbled matted
meshed paisley perforated pitted pleated porous potholed scaly smeared spiralled spiraled sprinkled stained
stratified striped studded swirly veined waffled woven wrinkled zigzagged polka dots stripes stripe mesh lace
knit fur furry woolly wool hairy fuzzy glossy shiny rough smooth grainy speckled spotted plaid tweed
""".split()
)


def _words(names: list[str]) -> set[str]:
    out = set()
    for n in names:
        for part in re.split(r"[,/]", n.lower()):
            part = part.strip()
            if part:
                out.add(part)
                out.update(w for w in re.split(r"[\s_-]+", part) if len(w) > 2)
    return out


@lru_cache(maxsize=1)
def _objects() -> frozenset[str]:
    import torchvision

    return frozenset(_words(list(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])))


SCENES_FALLBACK = frozenset(
    """
airport alley amusement aquarium arena attic auditorium bakery balcony ballroom bar barn basement bathroom
beach bedroom boathouse bookstore bridge building canyon castle cathedral cave cemetery church classroom
closet coast corridor courtyard desert dining downtown farm field forest garage garden gym hall harbor highway
hospital hotel house kitchen lake library lobby market mountain museum office park parking playground pool
restaurant river road room shop skyscraper stadium staircase station street supermarket temple tower valley
village vineyard waterfall yard ocean sea sky shore island lagoon marsh swamp glacier volcano city town
""".split()
)


def categorize(label: str, scenes: frozenset[str] | set[str] | None = None) -> str:
    """The category of one concept label (see the module docstring)."""
    w = label.strip().lower()
    if w in COLOURS or w.removesuffix("-c") in COLOURS:
        return "colour"
    if w in TEXTURES:
        return "texture"
    scene_words = scenes if scenes is not None else SCENES_FALLBACK
    if w in scene_words or w.split("-")[0] in scene_words:
        return "scene"
    if w in _objects():
        return "object"
    return "other"


def scene_words(places_categories: list[str] | None) -> frozenset[str]:
    """Scene vocabulary: the words of the Places365 category names when available, plus a fixed list."""
    return frozenset(SCENES_FALLBACK | (_words(places_categories) if places_categories else set()))
