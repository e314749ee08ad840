"""Quarto post-render step: join the pages' PDFs (index, then the chapters in navbar order) into
``report.pdf`` in the output folder. Also usable as ``python -m xaireport.report.combine_pdf OUTPUT_DIR``.

Kept free of the rest of the package (only ``pypdf`` and ``yaml``), since Quarto runs it as a plain script.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml


def page_order(project_dir: Path) -> list[str]:
    """Rendered pages in ``project.render`` order, as output-relative PDF paths."""
    config = yaml.safe_load((project_dir / "_quarto.yml").read_text(encoding="utf-8"))
    pages = config.get("project", {}).get("render") or []
    return [str(Path(p).with_suffix(".pdf")) for p in pages if p.endswith(".qmd")]


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
    out = combine(output, page_order(project))
    print(f"combined report: {out}" if out else "combined report: no page PDFs found, skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
