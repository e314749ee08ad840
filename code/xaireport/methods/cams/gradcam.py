"""**Grad-CAM** (Selvaraju et al., 2017): the ``grad-cam`` package's ``GradCAM``, unchanged. Channel weights are
the spatial mean of the gradient of the target logit with respect to the target layer's activations. For vision
transformers the classifier's ``reshape_transform`` turns tokens into a grid, as the package documents."""

from __future__ import annotations

import numpy as np
from pytorch_grad_cam import GradCAM

from xaireport.methods.cams.base import explain_with
from xaireport.methods.explanations import Explanation
from xaireport.models import Classifier


def make(classifier: Classifier, batch_size: int | None = None, progress: bool = True) -> GradCAM:
    return GradCAM(classifier.model, [classifier.target_layer], reshape_transform=classifier.reshape_transform)


def explain(
    classifier: Classifier, image: np.ndarray, target: int | None = None, *, progress: bool = True
) -> Explanation:
    """Grad-CAM of ``target`` (default: the top-1 class); the map is aligned with ``classifier.crop(image)``."""
    return explain_with("gradcam", lambda: make(classifier), classifier, image, target, needs_grad=True)
