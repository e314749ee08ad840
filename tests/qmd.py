"""Run a .qmd's Python the way Quarto's jupyter engine does, without Quarto.

Expands ``{{< include >}}`` shortcodes (paths relative to the including file), collects the ```{python}``` cells
(skipping ``#| eval: false``) and the inline ``{python} expr`` expressions, and executes them in order in a
Jupyter kernel with nbclient, with cwd = the project root (``execute-dir: project``) and ``QUARTO_PROFILE`` /
``QUARTO_PROJECT_DIR`` set. Any cell error fails.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

INCLUDE = re.compile(r"\{\{<\s*include\s+(\S+)\s*>\}\}")
CELL = re.compile(r"^```\{python\}[^\n]*\n(.*?)^```\s*$", re.S | re.M)
INLINE = re.compile(r"`\{python\}\s+([^`]+)`")
FRONT = re.compile(r"\A---\n.*?\n---\n", re.S)


def expand(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return INCLUDE.sub(lambda m: FRONT.sub("", expand((path.parent / m.group(1)).resolve())), text)


def cells(path: Path) -> list[str]:
    """Code of the document's executed cells, then one cell per inline expression (in document order; its value
    is the cell's result, so a ``Markdown`` object shows its text as Quarto inserts it)."""
    text = FRONT.sub("", expand(path))
    out = []
    pos = 0
    for m in CELL.finditer(text):
        out += [f"({e.strip()})" for e in INLINE.findall(text[pos : m.start()])]
        code = m.group(1)
        if re.search(r"^#\|\s*eval:\s*false", code, re.M):
            pos = m.end()
            continue
        out.append(code)
        pos = m.end()
    out += [f"({e.strip()})" for e in INLINE.findall(text[pos:])]
    return out


def execute(
    path: Path, project_dir: Path, profile: str = "smoke", timeout: int = 1800, extra: tuple[str, ...] = ()
) -> nbformat.NotebookNode:
    """Execute the page's cells (then the ``extra`` cells, e.g. a check of the kernel's state) in a new kernel."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in [*cells(path), *extra]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    saved = {k: os.environ.get(k) for k in ("QUARTO_PROFILE", "QUARTO_PROJECT_DIR")}
    os.environ["QUARTO_PROFILE"] = profile
    os.environ["QUARTO_PROJECT_DIR"] = str(project_dir)
    try:
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(project_dir)}}
        )
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if "text" in o:
                parts.append(o["text"])
            data = o.get("data", {})
            parts.append(data.get("text/markdown", "") + data.get("text/plain", ""))
    return "\n".join(parts)


def image_outputs(nb: nbformat.NotebookNode) -> int:
    return sum(1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {}))


MD_FIGURE = re.compile(r"!\[[^\n]*?\]\(<([^>]+)>\)\{#fig-")


def figures_shown(nb: nbformat.NotebookNode, page: Path) -> int:
    """Figures the page displays: image outputs, and cross-referenceable markdown figures printed by ``asis`` cells
    (``![caption](<path>){#fig-…}``, path relative to the page) whose file exists."""
    printed = MD_FIGURE.findall(outputs_text(nb))
    return image_outputs(nb) + sum(1 for f in printed if (page.parent / f).is_file())


def stderr_text(nb: nbformat.NotebookNode) -> str:
    """What the page's cells wrote to stderr (a rendered page would show it)."""
    return "".join(
        o.get("text", "")
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )


REF = re.compile(r"(?<![\w@/])@((?:fig|tbl|sec|eq)-[A-Za-z0-9_-]+)")
ANCHOR = re.compile(r"\{#((?:fig|tbl|sec|eq)-[A-Za-z0-9_-]+)")
CELL_LABEL = re.compile(r"^#\|\s*label:\s*(\S+)", re.M)


def unresolved_references(path: Path, nb: nbformat.NotebookNode) -> set[str]:
    """Cross-references (``@tbl-x``) in the page's prose or in its cells' markdown output that no label of the
    page defines: a static ``{#x}`` anchor, a ``{#x}`` printed by a cell, or ``#| label: x`` on a cell that
    produced output. Quarto would print these as ``?@tbl-x``."""
    text = FRONT.sub("", expand(path))
    prose = CELL.sub("", text)
    prose = INLINE.sub("", prose)
    out = outputs_text(nb)
    defined = set(ANCHOR.findall(prose)) | set(ANCHOR.findall(out))
    for code, cell in zip(cells(path), nb.cells):
        if cell.get("outputs"):
            defined.update(CELL_LABEL.findall(code))
    return (set(REF.findall(prose)) | set(REF.findall(out))) - defined
