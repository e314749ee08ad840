"""**AblationCAM** (Desai & Ramaswamy, 2020): ``w_k = (y − y_k) / y`` where ``y`` is the target logit and
``y_k`` the logit with channel ``k`` of the target layer ablated. The library re-runs the whole network for
every ablated channel; the layers below the target layer do not depend on the ablation, so we run them once
and evaluate only the classifier's head (ResNet: avgpool + fc; timm: ``forward_head``) on batches of
ablated activations. Ablation rule as the library: the channel is set to 0 when the activation minimum is 0
(post-ReLU layers, all models here), otherwise to ``min − 1e7``. *Deviation:* the library lowers that value
by a further 1e7 for every earlier channel in the same batch (it re-reads the minimum of the tensor it is
modifying), an artefact of its batching that we do not copy; on post-ReLU layers the two agree exactly.
"""

from __future__ import annotations

import numpy as np
import torch

from xaireport.methods.cams.base import BatchedCAM, target_logit
from xaireport.models import Classifier

ABLATION_VALUE = 1e7


class FastAblationCAM(BatchedCAM):
    """AblationCAM that evaluates only the head above the target layer on the ablated activations."""

    def __init__(self, classifier: Classifier, batch_size: int = 256, progress: bool = True):
        super().__init__(classifier, batch_size, progress)

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads) -> np.ndarray:
        # Only the head above the target layer runs here, so the target layer's hooks do not fire.
        head = self.classifier.head
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


def make(classifier: Classifier, batch_size: int | None, progress: bool) -> FastAblationCAM:
    return FastAblationCAM(classifier, batch_size or 256, progress)
