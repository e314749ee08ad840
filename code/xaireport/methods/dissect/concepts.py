"""Concept sets for CLIP-Dissect: named sets (downloaded or built offline) or any text file.

Names:
    ``20k``            the paper's English 20k word list (downloaded from the CLIP-Dissect repository)
    ``wordfreq-N``     the N most frequent alphabetic English words from the ``wordfreq`` package (offline;
                       ``wordfreq-20k`` = 20,000)
    ``broden``         the 1,197 Broden labels (downloaded)
    ``imagenet``       the 1,000 ImageNet classes as full WordNet synonym strings (``tench, Tinca tinca``), in
                       class-index order, from the files timm ships (offline): the concept set of the
                       authors' final-layer check
    ``places365``      the 365 Places365 categories (downloaded)
    a path             a text file, one concept per line

Blank lines are dropped and surrounding space stripped everywhere, so label ids always index the list that
was embedded (the paper's code embeds the list without blank lines but labels with it, misaligning labels
after the first blank line).
"""

from __future__ import annotations

import re
from pathlib import Path

from xaireport.core.errors import UserError

CLIP_DISSECT_DATA = "https://raw.githubusercontent.com/Trustworthy-ML-Lab/CLIP-dissect/master/data/"
DOWNLOADS = {"20k": "20k.txt", "broden": "broden_labels_clean.txt"}


def read_concept_file(path: str | Path) -> list[str]:
    """Concepts of a text file, one per line, blank lines dropped."""
    p = Path(path)
    if not p.is_file():
        raise UserError(
            f"{p}: concept file not found: give a text file with one concept per line, or one of "
            "20k, wordfreq-20k, broden, imagenet, places365"
        )
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise UserError(f"{p}: not a UTF-8 text file") from exc
    concepts = [line.strip() for line in lines if line.strip()]
    if not concepts:
        raise UserError(f"{p}: the concept file has no concepts")
    return concepts


def wordfreq_words(n: int) -> list[str]:
    """The ``n`` most frequent English words of ``wordfreq`` that are purely alphabetic (offline)."""
    from wordfreq import top_n_list

    words, seen = [], set()
    for w in top_n_list("en", n * 2):
        if re.fullmatch(r"[a-z]{2,}", w) and w not in seen:
            seen.add(w)
            words.append(w)
            if len(words) == n:
                break
    return words


NAMED = ("20k", "broden", "imagenet", "places365")


def check_concept_spec(spec: str) -> None:
    """Fail before any download when ``spec`` is neither a known set name nor an existing file."""
    if re.fullmatch(r"wordfreq-(\d+)(k?)", spec) or spec in NAMED:
        return
    p = Path(spec).expanduser()
    if p.is_dir():
        raise UserError(f"{p}: the concept set is a folder: give a text file with one concept per line")
    if not p.is_file():
        raise UserError(
            f"unknown concept set {spec!r} (and no such file): use 20k, wordfreq-20k, broden, imagenet, "
            "places365 or a text file (--concepts / dissection.concepts)"
        )


def load_concepts(spec: str) -> list[str]:
    """Resolve a concept-set name or file path (see the module docstring)."""
    m = re.fullmatch(r"wordfreq-(\d+)(k?)", spec)
    if m:
        return wordfreq_words(int(m.group(1)) * (1000 if m.group(2) else 1))
    if spec in DOWNLOADS:
        from xaireport.core.downloads import download

        return read_concept_file(download(CLIP_DISSECT_DATA + DOWNLOADS[spec], f"clip_dissect_{DOWNLOADS[spec]}"))
    if spec == "imagenet":
        from xaireport.models.classnames import imagenet_descriptions

        return imagenet_descriptions()
    if spec == "places365":
        from xaireport.models.classnames import places365_categories

        return places365_categories()
    if Path(spec).expanduser().suffix or Path(spec).expanduser().exists():
        return read_concept_file(Path(spec).expanduser())
    raise UserError(f"unknown concept set {spec!r}: use 20k, wordfreq-20k, broden, imagenet, places365 or a file")
