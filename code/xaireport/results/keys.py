"""What every cache key of a result says about its classifier and its maps."""

from __future__ import annotations

import numpy as np

from xaireport.core.cache import bytes_digest
from xaireport.core.codegraph import code_version
from xaireport.models import Classifier
from xaireport.models.description import LazyClassifier
from xaireport.models.registry import builder_module

#: A loaded classifier, or one that loads on first use (a page's results read from the cache need no network).
AnyClassifier = Classifier | LazyClassifier


def model_parts(classifier: AnyClassifier) -> dict[str, str | None]:
    """What a result depends on from the classifier: its name, weights, target layer and class names, and the code
    of its family's builder (:func:`model_code`)."""
    return {
        "model": classifier.name,
        "weights": classifier.weights_id,
        "layer": classifier.target_layer_name,
        "classes": bytes_digest("\n".join(classifier.categories).encode()),
        "model_code": model_code(classifier.name),
    }


def model_code(name: str) -> str | None:
    """The version of the code that builds model ``name``: its family's builder module with everything it imports
    (:func:`~xaireport.models.registry.builder_module`; a plug-in's builder by its own file). Only that family's:
    editing another family's builder changes no key of this model's results. ``None`` for a classifier assembled
    outside the registry."""
    module = builder_module(name)
    return code_version(module) if module else None


def map_digest(a: np.ndarray) -> str:
    return bytes_digest(np.ascontiguousarray(a, dtype=np.float32).tobytes())
