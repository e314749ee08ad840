"""One session: the settings, the result cache, the images and the classifier that chapters and commands share.

A chapter opens one with :func:`xaireport.report.open_report` (the settings of ``$QUARTO_PROJECT_DIR`` and
``$QUARTO_PROFILE`` during ``quarto render``); a command builds one from the same settings with its options as
overrides (:func:`xaireport.cli.options.session_from`). Both then call the same functions of
:mod:`xaireport.results` with it, so a result computed by one is reused by the other. Expensive members are
created on first use and kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xaireport import images as images_mod
from xaireport.core.cache import ResultCache
from xaireport.core.device import name as device_name
from xaireport.methods import registry
from xaireport.models.description import LazyClassifier, info_key
from xaireport.settings import Settings

if TYPE_CHECKING:
    from xaireport.methods.registry import Method
    from xaireport.models import Classifier


@dataclass
class Session:
    """Settings plus what is derived from them: the cache, the images, the classifier, the methods."""

    settings: Settings
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        import pandas as pd

        # A user's file name may hold bytes that are not UTF-8 (kept as surrogates by Python); pandas 3 stores
        # strings in Arrow when pyarrow is installed (the ray extra brings it), and Arrow refuses such strings.
        # Python-backed strings keep them, and the CSV writer escapes them (core.fileio.save_csv).
        pd.set_option("mode.string_storage", "python")

    @property
    def project_dir(self) -> Path:
        return self.settings.project_dir

    @property
    def cache(self) -> ResultCache:
        return ResultCache(self.settings.folder(self.settings.paths.cache))

    def figures_dir(self, chapter: str) -> Path:
        d = self.settings.folder(self.settings.paths.figures) / chapter
        d.mkdir(parents=True, exist_ok=True)
        return d

    def results_dir(self, chapter: str) -> Path:
        d = self.settings.folder(self.settings.paths.results) / chapter
        d.mkdir(parents=True, exist_ok=True)
        return d

    def images(self) -> list[images_mod.LoadedImage]:
        """The images of ``images.folder`` (the first ``images.limit``), all validated before any is used."""
        if "images" not in self._memo:
            s = self.settings
            self._memo["images"] = images_mod.load_folder(
                s.folder(s.images.folder), limit=s.images.limit, max_megapixels=s.images.max_megapixels
            )
        return self._memo["images"]

    def classifier(self) -> LazyClassifier:
        """The classifier of chapters 2-6 (``classifier.model``, ``.weights``, ``.classes``, ``.target_layer``).

        It loads its network on first use (:class:`~xaireport.models.description.LazyClassifier`): its name,
        weights digest, target layer, classes and crop come from its cached description, so a page whose results
        are all cached never imports torch."""
        if "classifier" not in self._memo:
            s = self.settings
            c = s.classifier
            weights, classes = s.path(c.weights), s.path(c.classes)

            def load() -> Classifier:
                from xaireport import models

                return models.load(c.model, weights, device=s.device, classes=classes, target_layer=c.target_layer)

            key = info_key(c.model, weights, classes, c.target_layer)
            self._memo["classifier"] = LazyClassifier(load, self.cache, key, device_name(s.device))
        return self._memo["classifier"]

    def method(self, name: str, where: str = "the method name") -> Method:
        """A registered explanation method (the ``plugins`` setting's modules are imported when the settings load)."""
        return registry.get(name, where)

    def methods(self, names: list[str], where: str = "the method names") -> list[Method]:
        registry.check(names, where)
        return [registry.METHODS[n] for n in names]
