"""What every explanation method shares, whatever its family: the class to explain (:func:`target_index`).

Its own module, so that a method's cache key (its module's import closure) holds only the code it runs: the Captum
methods import this, not the CAMs' :mod:`~xaireport.methods.cams.base`, so editing a CAM recomputes no gradient
method's maps.
"""

from __future__ import annotations

import torch

from xaireport.core.errors import UserError
from xaireport.models import Classifier

__all__ = ["target_index"]


def target_index(classifier: Classifier, x: torch.Tensor, target: int | None) -> tuple[int, float]:
    """The class to explain (``target``, else the top-1 class) and its softmax probability for input ``x``."""
    with torch.inference_mode():
        probs = torch.softmax(classifier.model(x), dim=1)[0].float().cpu()
    index = int(probs.argmax()) if target is None else int(target)
    if not 0 <= index < len(classifier.categories):
        raise UserError(
            f"target class {index} is out of range for {classifier.name} ({len(classifier.categories)} classes)"
        )
    return index, float(probs[index])
