"""The image classifiers the report explains, behind one small interface (:class:`Classifier`).

Names: the four named models (``resnet50``, ``resnet18``, ``resnet18-places365``, ``efficientnet-lite0``) and any
library model, ``timm:<name>`` or ``torchvision:<name>``, one builder module per family
(:mod:`~xaireport.models.families`), found through the registry (:mod:`~xaireport.models.registry`).
:func:`load` builds one, with its own weights, class names, preprocessing, target layer and head; ``xaireport
models`` lists the names and ``xaireport check`` prints what was detected.

Importing this package imports no torch and no family's builder (the registry is read by ``xaireport --help`` and
the settings check; a family's module is imported when one of its models is loaded), so that this package's code in
a result's cache key is the family-neutral part only: editing one family's builder changes the keys of that
family's results alone (:func:`xaireport.results.keys.model_parts`).

Every weight file can be a local file (``weights=``); without one, weights are downloaded (torch hub cache for
torchvision and Places365, the Hugging Face cache for timm) and, with no network, the error names the URL and
what to do instead.
"""

from __future__ import annotations

from xaireport.models.classifier import Classifier
from xaireport.models.loading import load, read_classes, retarget
from xaireport.models.preprocessing import timm_preprocessing, torchvision_preprocessing
from xaireport.models.registry import (
    MODELS,
    PREFIXES,
    builder_for,
    builder_module,
    check_model_name,
    is_model_name,
    model_names,
    prefix_names,
    register_model,
    register_prefix,
)

__all__ = [
    "MODELS",
    "PREFIXES",
    "Classifier",
    "builder_for",
    "builder_module",
    "check_model_name",
    "is_model_name",
    "load",
    "model_names",
    "prefix_names",
    "read_classes",
    "register_model",
    "register_prefix",
    "retarget",
    "timm_preprocessing",
    "torchvision_preprocessing",
]
