"""xaireport: the package behind the explainability report (models, images, settings, cache, methods)."""
from __future__ import annotations

from .errors import UserError
from .images import LoadedImage, load_folder, load_image
from .models import Classifier
from .models import load as load_model
from .report import Report, open_report
from .settings import Settings
from .settings import load as load_settings

__version__ = "0.1.0"

__all__ = ["Classifier", "LoadedImage", "Report", "Settings", "UserError", "load_folder", "load_image",
           "load_model", "load_settings", "open_report", "__version__"]
