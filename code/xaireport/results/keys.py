"""What every cache key of a result says about its classifier and its maps."""

from __future__ import annotations

import numpy as np

from xaireport.core.cache import bytes_digest
from xaireport.models import Classifier
from xaireport.models.description import LazyClassifier

#: A loaded classifier, or one that loads on first use (a page's results read from the cache need no network).
AnyClassifier = Classifier | LazyClassifier


def model_parts(classifier: AnyClassifier) -> dict[str, str]:
    """What a result depends on from the classifier: its name, weights, target layer and class names."""
    return {
        "model": classifier.name,
        "weights": classifier.weights_id,
        "layer": classifier.target_layer_name,
        "classes": bytes_digest("\n".join(classifier.categories).encode()),
    }


def map_digest(a: np.ndarray) -> str:
    return bytes_digest(np.ascontiguousarray(a, dtype=np.float32).tobytes())
