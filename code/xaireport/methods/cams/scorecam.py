"""**ScoreCAM** (Wang et al., 2020): each channel, upsampled bilinearly to the input size and min-max
normalised, masks the input; ``w = softmax_k(y(x ⊙ M_k))`` over the raw target logits, as the library
defines it (the paper uses the softmax probability increase over a baseline). We build the masked inputs
batch by batch (the library materialises all of them: 2048 × 3 × 224 × 224 floats for ResNet-50), with the
CAM hooks removed, in ``torch.inference_mode()``, channels-last, and score the all-zero input of every
constant channel (whose normalised map is exactly zero) once instead of once per channel. The masked
passes run through :func:`xaireport.core.inference.fast_forward` (on the CPU the network in ONNX Runtime,
checked against the model on the first batch; without it a BatchNorm-folded oneDNN graph) with one
single-threaded worker per CPU core (:func:`xaireport.core.device.map_batches`).
"""

from __future__ import annotations

import numpy as np
import torch

from xaireport.core.device import map_batches
from xaireport.core.inference import fast_forward
from xaireport.methods.cams.base import BatchedCAM, explain_with, target_logit
from xaireport.methods.explanations import Explanation
from xaireport.models import Classifier


class FastScoreCAM(BatchedCAM):
    """ScoreCAM with batched masking, no hooks on the masked passes, and constant channels scored once."""

    def __init__(self, classifier: Classifier, batch_size: int = 4, progress: bool = True, graph: bool = True):
        super().__init__(classifier, batch_size, progress)
        self.graph = graph
        self.constant_channels = 0

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads) -> np.ndarray:
        with self.hooks_paused():
            return self._weights(input_tensor, targets, activations)

    def _weights(self, input_tensor, targets, activations) -> np.ndarray:
        acts = torch.from_numpy(np.asarray(activations)).to(self.device)
        upsample = torch.nn.UpsamplingBilinear2d(size=input_tensor.shape[-2:])
        fmt = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        weights = np.empty(acts.shape[:2], dtype=np.float32)
        with torch.inference_mode():
            for b in range(acts.shape[0]):
                scores = self._image_scores(
                    input_tensor[b : b + 1].detach(), acts[b : b + 1], targets[b : b + 1], upsample, fmt
                )
                weights[b] = torch.softmax(scores, dim=-1).numpy()
        return weights

    def _image_scores(
        self, x: torch.Tensor, a: torch.Tensor, target: list, upsample: torch.nn.Module, fmt: torch.memory_format
    ) -> torch.Tensor:
        """The target logit of every channel's masked input, for one image ``x`` with activations ``a``."""
        model = self.classifier.model
        # The library's min-max normalisation of each upsampled map, computed a slice at a time.
        mins, maxs = torch.cat(
            [torch.stack(upsample(a[:, i : i + 64])[0].flatten(1).aminmax(dim=1), 1) for i in range(0, a.shape[1], 64)]
        ).unbind(1)
        scores = torch.empty(a.shape[1])
        constant = (maxs == mins).cpu()
        if constant.any():
            # (u − min) / (max − min + 1e-8) is exactly 0: every constant channel masks to zeros.
            self.constant_channels += int(constant.sum())
            zero = torch.zeros_like(x).contiguous(memory_format=fmt)
            scores[constant] = float(target_logit(model(zero), target)[0])
        live = (~constant).nonzero().flatten()

        def masked(idx: torch.Tensor) -> torch.Tensor:
            # Every batch is full (the last one repeats its final channel): one traced shape.
            idx = torch.cat([idx, idx[-1:].expand(self.batch_size - len(idx))]).to(a.device)
            masks = (upsample(a[:, idx])[0] - mins[idx, None, None]) / (maxs[idx] - mins[idx] + 1e-8)[:, None, None]
            return (x * masks[:, None]).contiguous(memory_format=fmt)

        batches = [live[i : i + self.batch_size] for i in range(0, len(live), self.batch_size)]
        if batches:
            with fast_forward(model, masked(batches[0]), self.graph) as forward:

                def score(idx: torch.Tensor) -> torch.Tensor:
                    with torch.inference_mode():
                        return target_logit(forward(masked(idx)), target)[: len(idx)].float().cpu()

                results = map_batches(score, batches, self.device)
                for idx, s in zip(batches, self._progress_over(results, len(batches), "ScoreCAM")):
                    scores[idx] = s
        return scores


def make(classifier: Classifier, batch_size: int | None, progress: bool) -> FastScoreCAM:
    return FastScoreCAM(classifier, batch_size or 4, progress)


def explain(
    classifier: Classifier,
    image: np.ndarray,
    target: int | None = None,
    *,
    progress: bool = True,
    batch_size: int | None = None,
) -> Explanation:
    """ScoreCAM of ``target`` (default: the top-1 class); the map is aligned with ``classifier.crop(image)``.
    ``batch_size``: masked inputs per forward pass (default 4; on a CPU each core runs its own batch)."""
    return explain_with("scorecam", lambda: make(classifier, batch_size, progress), classifier, image, target)
