"""Class activation maps: Grad-CAM (the ``grad-cam`` package as it is), and exact, fast AblationCAM and ScoreCAM.

One module per method (:mod:`.gradcam`, :mod:`.ablationcam`, :mod:`.scorecam`), each with a ``make(classifier,
batch_size, progress)`` that returns a ``grad-cam`` ``BaseCAM``, and one registry here, :data:`METHODS`: method
names, display labels and the batch-size setting of each. The CLI's choices, the settings check and the
chapters read it. A new method is one new module plus one :func:`register` line below.

The fast methods subclass the package's :class:`pytorch_grad_cam.base_cam.BaseCAM`, so the map is assembled
by the library (``ReLU(Σ_k w_k A_k)``, min-max scaled, resized to the input) and only the channel weights
``w_k`` are computed here (see each module for how). Importing this package does not import torch.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xaireport.core.errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from xaireport.methods.explanations import CamResult
    from xaireport.models import Classifier


@dataclass(frozen=True)
class CamMethod:
    """One registered CAM method.

    Attributes:
        name: the name in settings and on the command line.
        label: the name shown in figures and tables.
        module: the module whose ``make(classifier, batch_size, progress)`` builds the CAM object.
        batch_setting: the ``cams.*`` setting that gives its batch size (``None``: no batching).
        needs_grad: the method back-propagates, so its input must require grad.
    """

    name: str
    label: str
    module: str
    batch_setting: str | None = None
    needs_grad: bool = False

    def make(self, classifier: Classifier, batch_size: int | None = None, progress: bool = True) -> Any:
        return importlib.import_module(self.module).make(classifier, batch_size, progress)


#: The registry: method name → :class:`CamMethod`, in display order.
METHODS: dict[str, CamMethod] = {}


def register(method: CamMethod) -> CamMethod:
    METHODS[method.name] = method
    return method


register(CamMethod("gradcam", "Grad-CAM", "xaireport.methods.cams.gradcam", needs_grad=True))
register(CamMethod("ablationcam", "AblationCAM", "xaireport.methods.cams.ablationcam", "cams.ablation_batch_size"))
register(CamMethod("scorecam", "ScoreCAM", "xaireport.methods.cams.scorecam", "cams.batch_size"))

#: Display labels, from the registry.
LABELS = {m.name: m.label for m in METHODS.values()}


def check_methods(methods: list[str], where: str = "cams.methods") -> None:
    """Raises :class:`UserError` naming unknown method names and the choices."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        names = ", ".join(repr(m) for m in unknown)
        raise UserError(f"unknown CAM method {names} in {where}: choose from {', '.join(METHODS)}")


def explain(
    classifier: Classifier,
    image: np.ndarray,
    method: str,
    target: int | None = None,
    *,
    batch_size: int | None = None,
    progress: bool = True,
) -> CamResult:
    """Explain the classifier's decision on one image.

    Args:
        classifier: from :func:`xaireport.models.load`.
        image: RGB uint8 H×W×3 (any size; cropped as the model sees it).
        method: a name of :data:`METHODS`.
        target: class index to explain; default the top-1 class.
        batch_size: ablated channels per head pass (AblationCAM, default 256) or masked inputs per forward
            pass (ScoreCAM, default 4; on a CPU each core runs its own batch).
        progress: show progress for the per-channel loops.

    Returns:
        :class:`~xaireport.methods.cams.base.CamResult` whose ``map`` is aligned with ``classifier.crop(image)``.
    """
    import numpy as np
    import torch
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from xaireport.methods.explanations import CamResult

    check_methods([method], "the method argument")
    spec = METHODS[method]
    x = classifier.preprocess(image)
    with torch.inference_mode():
        probs = torch.softmax(classifier.model(x), dim=1)[0].float().cpu()
    index = int(probs.argmax()) if target is None else int(target)
    if not 0 <= index < len(classifier.categories):
        raise UserError(
            f"target class {index} is out of range for {classifier.name} ({len(classifier.categories)} classes)"
        )
    targets = [ClassifierOutputTarget(index)]
    start = time.perf_counter()
    with spec.make(classifier, batch_size, progress) as cam:
        grayscale = cam(x.clone().requires_grad_(True) if spec.needs_grad else x, targets)
    seconds = time.perf_counter() - start
    return CamResult(
        method=method,
        map=np.asarray(grayscale[0], dtype=np.float32),
        class_index=index,
        class_name=classifier.categories[index],
        score=float(probs[index]),
        seconds=seconds,
    )
