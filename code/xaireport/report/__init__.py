"""What every chapter shares: the session (settings, cache, images, classifier) and display helpers.

A chapter starts with ``rep = xaireport.report.open_report()`` (in ``chapters/_setup.qmd``); during
``quarto render`` the settings come from ``$QUARTO_PROJECT_DIR`` and ``$QUARTO_PROFILE``. Each chapter module
offers ``prepare(report) -> Chapter``: the numbers, tables, figure paths and verdicts its page shows (computed
through :mod:`xaireport.results`); the sentences are the ``.qmd``'s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from xaireport.core import progress
from xaireport.session import Session
from xaireport.settings import Settings
from xaireport.settings import load as load_settings


class Report(Session):
    """A :class:`~xaireport.session.Session` as the chapters use it: plus what a page shows around its results
    (the profile's banner, links to the CSVs, paths relative to the page, settings tables)."""

    def data_links(self, *paths: str | os.PathLike, page_dir: str = "chapters") -> str:
        """A markdown line linking the CSV files behind a table (``Data: [iou.csv](…)``), relative to the page;
        the site copies them (``project.resources`` in ``_quarto.yml``). Files that do not exist are left out."""
        links = [f"[{Path(p).name}]({self.md_path(p, page_dir)})" for p in paths if Path(p).is_file()]
        return f"Data: {', '.join(links)}.\n" if links else ""

    def banner(self) -> str:
        """Markdown for the profile's banner (a warning callout), or an empty string."""
        text = self.settings.banner
        if not text:
            return ""
        return f'::: {{.callout-warning title="Not the report\'s results"}}\n{text}\n:::\n'

    def md_path(self, path: str | os.PathLike, page_dir: str = "chapters") -> str:
        """A file's path relative to the page that shows it, for figures written as markdown by an ``asis``
        cell (Quarto resolves markdown image paths against the page's folder, not ``execute-dir``)."""
        return Path(os.path.relpath(Path(path).resolve(), self.project_dir / page_dir)).as_posix()

    def shown_path(self, path: str | os.PathLike) -> str:
        """A folder or file for the reader: relative to the project when inside it (``figures/cams``), else as it is
        (a ``paths`` setting may point anywhere)."""
        p = Path(path).resolve()
        try:
            return p.relative_to(self.project_dir.resolve()).as_posix()
        except ValueError:
            return p.as_posix()

    def settings_table(self, section: str) -> pd.DataFrame:
        """One settings section as a two-column table, one dotted key per row (for a chapter's Setup section)."""
        return pd.DataFrame(settings_rows(self.settings, section), columns=["setting", "value"])


def settings_rows(settings: Settings, section: str) -> list[tuple[str, str]]:
    """``(dotted key, value)`` for every setting under ``section``, nested mappings flattened, never truncated."""
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}", v)
        else:
            rows.append((prefix, _fmt(value)))

    walk(section, settings.as_dict(section))
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "—" if value is None else str(value)


_OPEN: dict[tuple[str, str], Report] = {}


def open_report(profile: str | None = None) -> Report:
    """The :class:`Report` for the current project and profile (one per kernel, reused across chapters)."""
    settings = load_settings(profile)
    key = (str(settings.project_dir), settings.profile_name)
    if key not in _OPEN or _OPEN[key].settings != settings:
        _OPEN[key] = Report(settings)
    # Progress bars are for the terminal (CLI); in a rendered page they would be captured as stderr output.
    progress.set_enabled(False)
    return _OPEN[key]


def show_image(path: str | os.PathLike):
    """Display a saved figure file as the cell's output (so the page shows exactly the file on disk)."""
    from IPython.display import Image

    return Image(filename=str(path))
