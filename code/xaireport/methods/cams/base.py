"""What the CAM methods share: the result type, the target logit, and the base class of the two fast CAMs
(a classifier, a batch size, progress over batches, and hooks that are paused during the method's own forward
passes and restored afterwards, so one object can explain any number of inputs)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from pytorch_grad_cam.activations_and_gradients import ActivationsAndGradients
from pytorch_grad_cam.base_cam import BaseCAM

from xaireport.core import progress as _progress
from xaireport.methods.explanations import CamResult
from xaireport.models import Classifier

__all__ = ["BatchedCAM", "CamResult"]


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
