"""**AblationCAM** (Desai & Ramaswamy, 2020): ``w_k = (y − y_k) / y`` where ``y`` is the target logit and
``y_k`` the logit with channel ``k`` of the target layer ablated. The library re-runs the whole network for
every ablated channel; the layers below the target layer do not depend on the ablation, so we run them once
and evaluate only the classifier's head (ResNet: avgpool + fc; timm: ``forward_head``) on batches of
ablated activations. Ablation rule as the library: the channel is set to 0 when the activation minimum is 0
(post-ReLU layers), otherwise to ``min − 1e7``. *Deviation:* the library lowers that value
by a further 1e7 for every earlier channel in the same batch (it re-reads the minimum of the tensor it is
modifying), an artefact of its batching that we do not copy; on post-ReLU layers the two agree exactly.

The head is checked on the first call against the full model's logit for the explained class; a classifier
without a head (vision transformers, networks ``torch.fx`` cannot cut at the target layer) or whose head
disagrees gets the ``grad-cam`` package's ``AblationCAM`` (full re-runs; ``AblationLayerVit`` for token layers),
with a warning: never a silently wrong map.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from xaireport.core import progress as _progress
from xaireport.methods.cams.base import BatchedCAM, explain_with, target_logit
from xaireport.methods.explanations import Explanation
from xaireport.models import Classifier

ABLATION_VALUE = 1e7
LIBRARY_BATCH = 32  # whole-network passes per batch in the package's AblationCAM (its default)


class FastAblationCAM(BatchedCAM):
    """AblationCAM that evaluates only the head above the target layer on the ablated activations."""

    def __init__(self, classifier: Classifier, batch_size: int = 256, progress: bool = True):
        super().__init__(classifier, batch_size, progress)
        self.verified = False

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads) -> np.ndarray:
        if not self.verified:
            if not self._head_agrees(input_tensor, targets, activations):
                _progress.warn(
                    f"{self.classifier.name}: the head above {self.classifier.target_layer_name} does not "
                    "reproduce the model's logits; AblationCAM runs the grad-cam package's full re-runs instead"
                )
                with self.hooks_paused():
                    cam = library(self.classifier)
                    try:
                        return cam.get_cam_weights(input_tensor, target_layer, targets, activations, grads)
                    finally:
                        cam.activations_and_grads.release()
            self.verified = True
        # Only the head above the target layer runs here, so the target layer's hooks do not fire.
        head: Any = self.classifier.head
        acts = torch.from_numpy(np.asarray(activations)).to(self.device)
        weights = np.empty(acts.shape[:2], dtype=np.float32)
        with torch.inference_mode():
            for b in range(acts.shape[0]):
                a = acts[b : b + 1]
                original = float(target_logit(head(a), targets[b : b + 1])[0])
                minimum = float(a.min())
                value = 0.0 if minimum == 0 else minimum - ABLATION_VALUE
                n = a.shape[1]
                scores = torch.empty(n)
                for start in self._batches(n, "AblationCAM"):
                    idx = torch.arange(start, min(start + self.batch_size, n), device=a.device)
                    batch = a.repeat(len(idx), 1, 1, 1)
                    batch[torch.arange(len(idx), device=a.device), idx] = value
                    scores[start : start + len(idx)] = target_logit(head(batch), targets[b : b + 1]).float().cpu()
                weights[b] = (original - scores.numpy()) / original
        return weights

    def _head_agrees(self, input_tensor, targets, activations) -> bool:
        """The head's target logit on the first image's activations equals the full model's (rtol 1e-4)."""
        head: Any = self.classifier.head
        with self.hooks_paused(), torch.inference_mode():
            full = float(target_logit(self.classifier.model(input_tensor[:1]), targets[:1])[0])
            a = torch.from_numpy(np.asarray(activations[:1])).to(self.device)
            ours = float(target_logit(head(a), targets[:1])[0])
        return abs(ours - full) <= 1e-4 * max(1.0, abs(full))


def library(classifier: Classifier, batch_size: int = LIBRARY_BATCH) -> Any:
    """The ``grad-cam`` package's AblationCAM on the classifier's target layer (``AblationLayerVit`` for
    transformer token layers)."""
    from pytorch_grad_cam import AblationCAM
    from pytorch_grad_cam.ablation_layer import AblationLayer, AblationLayerVit

    from xaireport.models.anatomy import TokensToGrid

    layer = AblationLayerVit() if isinstance(classifier.reshape_transform, TokensToGrid) else AblationLayer()
    return AblationCAM(
        classifier.model,
        [classifier.target_layer],
        reshape_transform=classifier.reshape_transform,
        ablation_layer=layer,
        batch_size=batch_size,
    )


def make(classifier: Classifier, batch_size: int | None, progress: bool) -> Any:
    """Our AblationCAM when the classifier has a head above its target layer, else the package's (warned)."""
    if classifier.head is None:
        _progress.warn(
            f"{classifier.name} cannot be split at {classifier.target_layer_name}: AblationCAM runs the "
            "grad-cam package's full re-run per channel (slower, same definition)"
        )
        return library(classifier)
    return FastAblationCAM(classifier, batch_size or 256, progress)


def explain(
    classifier: Classifier,
    image: np.ndarray,
    target: int | None = None,
    *,
    progress: bool = True,
    batch_size: int | None = None,
) -> Explanation:
    """AblationCAM of ``target`` (default: the top-1 class); the map is aligned with ``classifier.crop(image)``.
    ``batch_size``: ablated channels per head pass (default 256)."""
    return explain_with("ablationcam", lambda: make(classifier, batch_size, progress), classifier, image, target)
