"""What the CAM methods share: :func:`explain_with` (one CAM object → one :class:`Explanation`), the target logit,
and the base class of the two fast CAMs (a classifier, a batch size, progress over batches, and hooks that are
paused during the method's own forward passes and restored afterwards, so one object can explain any number of
inputs)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from pytorch_grad_cam.activations_and_gradients import ActivationsAndGradients
from pytorch_grad_cam.base_cam import BaseCAM

from xaireport.core import progress as _progress
from xaireport.methods.explanations import Explanation
from xaireport.methods.targets import target_index
from xaireport.models import Classifier

__all__ = ["BatchedCAM", "explain_with", "target_index"]


def explain_with(
    method: str,
    make: Callable[[], Any],
    classifier: Classifier,
    image: np.ndarray,
    target: int | None,
    needs_grad: bool = False,
) -> Explanation:
    """Explain ``classifier``'s decision on ``image`` (RGB uint8, any size; cropped as the model sees it) with the
    ``grad-cam`` CAM object that ``make()`` builds (timed from its construction; released afterwards): the map is
    aligned with ``classifier.crop(image)``, in [0, 1]. ``needs_grad``: the method back-propagates, so its input
    must require grad."""
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    x = classifier.preprocess(image)
    index, score = target_index(classifier, x, target)
    start = time.perf_counter()
    with make() as cam:
        grayscale = cam(x.clone().requires_grad_(True) if needs_grad else x, [ClassifierOutputTarget(index)])
    return Explanation(
        method=method,
        map=np.asarray(grayscale[0], dtype=np.float32),
        class_index=index,
        class_name=classifier.categories[index],
        score=score,
        seconds=time.perf_counter() - start,
    )


def target_logit(outputs: torch.Tensor, targets: list[Any]) -> torch.Tensor:
    """The logit of the explained class (``targets``: grad-cam ``ClassifierOutputTarget`` objects)."""
    index = targets[0].category
    return outputs[:, index]


class BatchedCAM(BaseCAM):
    """What both fast CAMs share: the classifier, a batch size, and an optional progress bar over batches."""

    def __init__(self, classifier: Classifier, batch_size: int, progress: bool = True):
        super().__init__(
            classifier.model,
            [classifier.target_layer],
            reshape_transform=classifier.reshape_transform,
            uses_gradients=False,
        )
        self.classifier = classifier
        self.batch_size = batch_size
        self.progress = progress

    @contextlib.contextmanager
    def hooks_paused(self) -> Iterator[None]:
        """Remove the activation/gradient hooks for the method's own forward passes (they would store every
        masked pass's activations), and put them back after, so the object stays usable for the next call."""
        hooks: Any = self.__dict__["activations_and_grads"]
        hooks.release()
        try:
            yield
        finally:
            self.activations_and_grads = ActivationsAndGradients(self.model, self.target_layers, self.reshape_transform)

    def _batches(self, n: int, desc: str):
        return self._progress_over(range(0, n, self.batch_size), None, desc)

    def _progress_over(self, iterable, total: int | None, desc: str):
        return _progress.bar(iterable, desc=desc, leave=False, total=total) if self.progress else iterable
