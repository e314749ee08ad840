"""Quarto pre-render step: write ``_variables.yml`` (git-ignored) with the render's date and profile, which the
site's page footer shows through ``{{< var render.date >}}`` and ``{{< var render.profile >}}``, and its start
time (``render.started``, Unix seconds), from which the home page counts the results this render computed.

It also checks, first, that the Python Quarto runs it with is one that can execute the chapters: Quarto runs the
pre-render step with the same Python it then starts the chapters' Jupyter kernels with (``QUARTO_PYTHON``, else
the first ``python3`` on ``PATH``). A Python without Jupyter or without the package stops the render here, with one
message naming that Python and the one line that fixes it, instead of a traceback from inside Quarto (issue 38).

And that the chapter list lives in one place (issue 35): ``project.render`` of ``_quarto.yml`` lists the chapters in
order; the navbar, the *PDFs* menu and the book (``chapters/book.qmd``) must follow it (:func:`chapter_list_problems`),
else the render stops with one line per difference (a chapter missing from the book would be missing from
``report.pdf`` without a word).

Kept free of the rest of the package (the standard library, then ``yaml``), since Quarto runs it as a plain script.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import os
import sys
from pathlib import Path

#: What the chapters need in Quarto's Python: Jupyter's kernel and notebook runner, and the report's package.
NEEDED = {
    "nbformat": "Jupyter",
    "nbclient": "Jupyter",
    "jupyter_client": "Jupyter",
    "ipykernel": "Jupyter",
    "yaml": "PyYAML",
    "xaireport": "xaireport",
}


def missing_modules(find_spec=importlib.util.find_spec) -> list[str]:
    """The modules of :data:`NEEDED` this Python cannot import (``find_spec``: injectable for tests)."""
    return [name for name in NEEDED if find_spec(name) is None]


def python_problem(project: Path, missing: list[str], executable: str = sys.executable) -> str:
    """The message for a render started with a Python that lacks ``missing`` (empty when nothing is missing)."""
    if not missing:
        return ""
    what = ", ".join(sorted({NEEDED[m] for m in missing}))
    venv = project / ".venv" / "bin" / "python"
    fix = (
        f"export QUARTO_PYTHON={venv}   (or run `make report`, which sets it)"
        if venv.exists()
        else "make setup && make report   (make setup creates .venv; make report tells Quarto to use it)"
    )
    return (
        f"xaireport: Quarto is running the chapters with {executable}, which has no {what} "
        f"(missing: {', '.join(missing)}). Fix: {fix}"
    )


def chapters(config: dict) -> list[str]:
    """The chapters, in order: the ``chapters/*.qmd`` of ``project.render`` but the book."""
    render = (config.get("project") or {}).get("render") or []
    return [p for p in render if p.startswith("chapters/") and p != "chapters/book.qmd"]


def chapter_title(project: Path, page: str) -> str:
    """A chapter's title: its first line, ``# Title {#sec-…}``."""
    first = (project / page).read_text(encoding="utf-8").splitlines()[0]
    return first.lstrip("# ").split(" {#")[0].strip()


def chapter_list_problems(project: Path) -> list[str]:
    """Where the navbar, the PDFs menu or ``chapters/book.qmd`` do not follow ``project.render``'s chapters (in
    order; the menu's items read ``N Title``): one sentence each, empty when they all do. What a project lacks (no
    navbar, no book) is not checked."""
    import re

    import yaml

    config = yaml.safe_load((project / "_quarto.yml").read_text(encoding="utf-8")) or {}
    listed = chapters(config)
    out = []
    missing = [p for p in listed if not (project / p).is_file()]
    if missing:
        return [f"project.render lists {', '.join(missing)}, which do not exist"]
    navbar = (config.get("website") or {}).get("navbar") or {}
    left = [item.get("href", "") for item in navbar.get("left") or [] if isinstance(item, dict)]
    shown = [h for h in left if h.startswith("chapters/")]
    if left and shown != listed:
        out.append(f"the navbar {_difference(shown, listed)}")
    menus = [item for item in navbar.get("right") or [] if isinstance(item, dict) and item.get("text") == "PDFs"]
    if menus:
        items = [i for i in menus[0].get("menu") or [] if isinstance(i, dict)]
        menu = [f"{i.get('text', '')} ({i['href']})" for i in items if str(i.get("href", "")).startswith("chapters/")]
        pdfs = [f"{n} {chapter_title(project, p)} ({p.removesuffix('.qmd')}.pdf)" for n, p in enumerate(listed, 1)]
        if menu != pdfs:
            out.append(f"the PDFs menu {_difference(menu, pdfs)}")
    book = project / "chapters" / "book.qmd"
    if book.is_file():
        includes = re.findall(r"\{\{<\s*include\s+(\S+)\s*>\}\}", book.read_text(encoding="utf-8"))
        included = [f"chapters/{i}" for i in includes if not i.startswith("_")]
        if included != listed:
            out.append(f"chapters/book.qmd (its includes) {_difference(included, listed)}")
    return out


def _difference(got: list[str], want: list[str]) -> str:
    """Where ``got`` first departs from ``want`` (project.render's order), in words."""
    for i, (g, w) in enumerate(zip(got, want), 1):
        if g != w:
            return f"has {g!r} as item {i} where project.render asks for {w!r}"
    if len(got) < len(want):
        return f"lacks {want[len(got)]!r} (item {len(got) + 1} of project.render)"
    return f"has {got[len(want)]!r} after the chapters project.render lists"


def variables(profile: str, now: _dt.datetime | None = None) -> dict:
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return {
        "render": {
            "date": now.strftime("%Y-%m-%d %H:%M UTC"),
            "profile": profile or "default",
            "started": int(now.timestamp()),
        }
    }


def main() -> int:
    project = Path(os.environ.get("QUARTO_PROJECT_DIR", ".")).resolve()
    problem = python_problem(project, missing_modules())
    if problem:
        print(problem, file=sys.stderr)
        return 1
    import yaml

    problems = chapter_list_problems(project)
    for text in problems:
        print(f"xaireport: the chapter list of _quarto.yml: {text}", file=sys.stderr)
    if problems:
        return 1
    data = variables(os.environ.get("QUARTO_PROFILE", ""))
    tmp = project / "_variables.yml.tmp"
    tmp.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, project / "_variables.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
