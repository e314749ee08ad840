"""Markdown builders for chapters whose tables and figures depend on the render (printed by ``output: asis``
cells): captioned, cross-referenceable tables and figures, and callouts."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from xaireport.report import Report


def table(df: pd.DataFrame, caption: str, label: str, digits: int = 3) -> str:
    """A DataFrame as a captioned, cross-referenceable markdown table (formatted as :mod:`.tables` does)."""
    from xaireport.report.tables import markdown

    return markdown(df, digits) + f"\n\n: {caption} {{#{label}}}\n"


def figure(
    report: Report, path: str | os.PathLike, caption: str, label: str, alt: str, page_dir: str = "chapters"
) -> str:
    """A saved figure as a captioned, cross-referenceable markdown image (path relative to the page, which lies in
    ``page_dir``: ``"."`` for the home page). The caption is Markdown written by the chapter: escape the names it
    carries with :func:`.escaping.md`; the alt text is escaped here."""
    from xaireport.report.escaping import attribute

    return f'![{caption}](<{report.md_path(path, page_dir)}>){{#{label} fig-alt="{attribute(alt)}"}}\n'


def callout(kind: str, title: str, body: str) -> str:
    """A Quarto callout block (``note``, ``warning``, ``important``, ...)."""
    return f"::: {{.callout-{kind}}}\n## {title}\n{body}\n:::\n"
