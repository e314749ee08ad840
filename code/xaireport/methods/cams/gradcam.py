"""**Grad-CAM** (Selvaraju et al., 2017): the ``grad-cam`` package's ``GradCAM``, unchanged. Channel weights are
the spatial mean of the gradient of the target logit with respect to the target layer's activations. For vision
transformers the classifier's ``reshape_transform`` turns tokens into a grid, as the package documents."""

from __future__ import annotations

from pytorch_grad_cam import GradCAM

from xaireport.models import Classifier


def make(classifier: Classifier, batch_size: int | None, progress: bool) -> GradCAM:
    return GradCAM(classifier.model, [classifier.target_layer], reshape_transform=classifier.reshape_transform)
