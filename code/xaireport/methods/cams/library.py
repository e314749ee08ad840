"""CAMs that the ``grad-cam`` package computes and we use unchanged (Grad-CAM is :mod:`.gradcam`): one function per
method, each the package's class on the classifier's target layer (with its ``reshape_transform`` for vision
transformers), registered in :mod:`xaireport.methods.registry` with ``function`` naming it.

* **GradCAM++** (Chattopadhay et al., 2018): channel weights from second- and third-order gradient terms.
* **XGradCAM** (Fu et al., 2020): gradients weighted by the normalised activations.
* **HiResCAM** (Draelos & Carin, 2020): the element-wise product of gradients and activations, summed over
  channels — faithful to the model's computation for CNNs ending in global average pooling.
* **LayerCAM** (Jiang et al., 2021): element-wise positive gradients times activations.
* **EigenCAM** (Muhammad & Yeasin, 2020): the first principal component of the activations; it uses no gradient
  and no class (the same map for every target), which the random-logit test of chapter 6 shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaireport.methods.cams.base import explain_with
from xaireport.methods.explanations import Explanation
from xaireport.models import Classifier

#: method name → (grad-cam class name, whether it back-propagates).
CLASSES = {
    "gradcampp": ("GradCAMPlusPlus", True),
    "xgradcam": ("XGradCAM", True),
    "hirescam": ("HiResCAM", True),
    "layercam": ("LayerCAM", True),
    "eigencam": ("EigenCAM", False),
}


def make(name: str, classifier: Classifier) -> Any:
    """The grad-cam object of method ``name`` on the classifier's target layer."""
    import pytorch_grad_cam

    cls = getattr(pytorch_grad_cam, CLASSES[name][0])
    return cls(classifier.model, [classifier.target_layer], reshape_transform=classifier.reshape_transform)


def _explain(name: str, classifier: Classifier, image: np.ndarray, target: int | None) -> Explanation:
    return explain_with(name, lambda: make(name, classifier), classifier, image, target, needs_grad=CLASSES[name][1])


def gradcampp(
    classifier: Classifier, image: np.ndarray, target: int | None = None, *, progress: bool = True
) -> Explanation:
    return _explain("gradcampp", classifier, image, target)


def xgradcam(
    classifier: Classifier, image: np.ndarray, target: int | None = None, *, progress: bool = True
) -> Explanation:
    return _explain("xgradcam", classifier, image, target)


def hirescam(
    classifier: Classifier, image: np.ndarray, target: int | None = None, *, progress: bool = True
) -> Explanation:
    return _explain("hirescam", classifier, image, target)


def layercam(
    classifier: Classifier, image: np.ndarray, target: int | None = None, *, progress: bool = True
) -> Explanation:
    return _explain("layercam", classifier, image, target)


def eigencam(
    classifier: Classifier, image: np.ndarray, target: int | None = None, *, progress: bool = True
) -> Explanation:
    return _explain("eigencam", classifier, image, target)
