"""Quarto post-render step: ``report.pdf`` in the output folder is the book, ``chapters/book.pdf`` (all chapters
in one Typst document: one table of contents, chapters numbered 1–6, continuous page numbers, one bibliography,
PDF bookmarks from the headings). When the book was not rendered (a render of single pages), the pages' PDFs
(index, then the chapters in ``project.render`` order) are joined instead, so ``report.pdf`` is never stale
from an older book. Also usable as ``python -m xaireport.report.combine_pdf OUTPUT_DIR``.

Kept free of the rest of the package (only ``pypdf`` and ``yaml``), since Quarto runs it as a plain script.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

#: The book's source page; its PDF becomes ``report.pdf``.
BOOK = "chapters/book.qmd"


def page_order(project_dir: Path) -> list[str]:
    """Rendered pages (the book excluded), the home page first, then ``project.render`` order, as output-relative
    PDF paths."""
    config = yaml.safe_load((project_dir / "_quarto.yml").read_text(encoding="utf-8"))
    pages = config.get("project", {}).get("render") or []
    pdfs = [str(Path(p).with_suffix(".pdf")) for p in pages if p.endswith(".qmd") and p != BOOK]
    return sorted(pdfs, key=lambda p: p != "index.pdf")  # the home page first (it renders last)


def publish_book(output_dir: Path, rendered: list[str], target: str = "report.pdf") -> Path | None:
    """Copy the book's PDF to ``output_dir/target`` when this render produced it (``rendered``: the output
    files Quarto lists in ``$QUARTO_PROJECT_OUTPUT_FILES``; empty = trust the file on disk)."""
    import shutil

    book = output_dir / Path(BOOK).with_suffix(".pdf")
    if not book.is_file() or (rendered and not any(f.endswith(str(Path(BOOK).with_suffix(".pdf"))) for f in rendered)):
        return None
    out = output_dir / target
    tmp = out.with_suffix(".pdf.tmp")
    shutil.copyfile(book, tmp)
    os.replace(tmp, out)
    return out


def combine(output_dir: Path, pdfs: list[str], target: str = "report.pdf") -> Path | None:
    """Concatenate the existing ``pdfs`` (relative to ``output_dir``) into ``output_dir/target``."""
    from pypdf import PdfWriter

    found = [output_dir / p for p in pdfs if (output_dir / p).is_file()]
    if not found:
        return None
    writer = PdfWriter()
    for pdf in found:
        writer.append(str(pdf), outline_item=pdf.stem)
    out = output_dir / target
    tmp = out.with_suffix(".pdf.tmp")
    with open(tmp, "wb") as fh:
        writer.write(fh)
    os.replace(tmp, out)
    return out


def main(argv: list[str]) -> int:
    project = Path(os.environ.get("QUARTO_PROJECT_DIR", ".")).resolve()
    output = Path(argv[0]) if argv else project / os.environ.get("QUARTO_PROJECT_OUTPUT_DIR", "_site")
    if not output.is_absolute():
        output = project / output
    rendered = [f for f in os.environ.get("QUARTO_PROJECT_OUTPUT_FILES", "").splitlines() if f.strip()]
    book = publish_book(output, rendered)
    if book:
        print(f"report: {book} (the book)")
        return 0
    out = combine(output, page_order(project))
    if out:
        print(f"combined report: {out} (pages joined; render {BOOK} for the book)")
    else:
        print("combined report: no page PDFs found, skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
