"""What every chapter shares: the merged settings, the cache, the images, the classifier, and display helpers.

A chapter starts with ``rep = xaireport.report.open_report()`` (in ``chapters/_setup.qmd``); during
``quarto render`` the settings come from ``$QUARTO_PROJECT_DIR`` and ``$QUARTO_PROFILE``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xaireport import images as images_mod
from xaireport import models
from xaireport.core import progress
from xaireport.core.cache import ResultCache
from xaireport.core.device import name as device_name
from xaireport.core.settings import Settings
from xaireport.core.settings import load as load_settings
from xaireport.models.description import LazyClassifier, info_key


@dataclass
class Report:
    """One render's context. Expensive objects are created on first use and kept."""

    settings: Settings
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def project_dir(self) -> Path:
        return self.settings.project_dir

    @property
    def cache(self) -> ResultCache:
        return ResultCache(self.settings.required_path("paths.cache"))

    def figures_dir(self, chapter: str) -> Path:
        d = self.settings.required_path("paths.figures") / chapter
        d.mkdir(parents=True, exist_ok=True)
        return d

    def results_dir(self, chapter: str) -> Path:
        d = self.settings.required_path("paths.results") / chapter
        d.mkdir(parents=True, exist_ok=True)
        return d

    def images(self) -> list[images_mod.LoadedImage]:
        """The report's images (validated all together before anything is computed)."""
        if "images" not in self._memo:
            self._memo["images"] = images_mod.load_folder(
                self.settings.required_path("images.folder"),
                limit=self.settings["images.limit"],
                max_megapixels=self.settings["images.max_megapixels"],
            )
        return self._memo["images"]

    def classifier(self) -> LazyClassifier:
        """The classifier of chapters 2-5 (``classifier.model``, ``.weights``, ``.classes``, ``.target_layer``).

        It loads its network on first use (:class:`~xaireport.models.description.LazyClassifier`): its name,
        weights digest, target layer, classes and crop come from its cached description, so a page whose
        results are all cached never imports torch."""
        if "classifier" not in self._memo:
            s = self.settings
            args = (s["classifier.model"], s.path("classifier.weights"))
            classes, layer = s.path("classifier.classes"), s["classifier.target_layer"]

            def load() -> models.Classifier:
                return models.load(*args, device=s["device"], classes=classes, target_layer=layer)

            key = info_key(*args, classes, layer)
            self._memo["classifier"] = LazyClassifier(load, self.cache, key, device_name(s["device"]))
        return self._memo["classifier"]

    def data_links(self, *paths: str | os.PathLike, page_dir: str = "chapters") -> str:
        """A markdown line linking the CSV files behind a table (``Data: [iou.csv](…)``), relative to the page;
        the site copies them (``project.resources`` in ``_quarto.yml``). Files that do not exist are left out."""
        links = [f"[{Path(p).name}]({self.md_path(p, page_dir)})" for p in paths if Path(p).is_file()]
        return f"Data: {', '.join(links)}.\n" if links else ""

    def banner(self) -> str:
        """Markdown for the profile's banner (a warning callout), or an empty string."""
        text = self.settings["banner"]
        if not text:
            return ""
        return f'::: {{.callout-warning title="Not the report\'s results"}}\n{text}\n:::\n'

    def md_path(self, path: str | os.PathLike, page_dir: str = "chapters") -> str:
        """A file's path relative to the page that shows it, for figures written as markdown by an ``asis``
        cell (Quarto resolves markdown image paths against the page's folder, not ``execute-dir``)."""
        return Path(os.path.relpath(Path(path).resolve(), self.project_dir / page_dir)).as_posix()

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

    walk(section, settings[section])
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
