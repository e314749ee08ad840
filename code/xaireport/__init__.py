"""xaireport: the package behind the explainability report (models, images, settings, cache, methods).

The names below are imported on first use, so that ``import xaireport`` (and ``xaireport --help``) does not
load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "UserError": ("core.errors", "UserError"),
    "LoadedImage": ("images", "LoadedImage"),
    "load_folder": ("images", "load_folder"),
    "load_image": ("images", "load_image"),
    "Classifier": ("models", "Classifier"),
    "load_model": ("models", "load"),
    "Explanation": ("methods.explanations", "Explanation"),
    "Method": ("methods.registry", "Method"),
    "register_method": ("methods.registry", "register"),
    "Session": ("session", "Session"),
    "Report": ("report", "Report"),
    "open_report": ("report", "open_report"),
    "Settings": ("settings", "Settings"),
    "load_settings": ("settings", "load"),
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
