"""Class activation maps: Grad-CAM (the ``grad-cam`` package as it is), and exact, fast AblationCAM and ScoreCAM.

Both fast methods subclass the package's :class:`pytorch_grad_cam.base_cam.BaseCAM`, so the map is assembled
by the library (``ReLU(Σ_k w_k A_k)``, min-max scaled, resized to the input) and only the channel weights
``w_k`` are computed here:

* **AblationCAM** (Desai & Ramaswamy, 2020): ``w_k = (y − y_k) / y`` where ``y`` is the target logit and
  ``y_k`` the logit with channel ``k`` of the target layer ablated. The library re-runs the whole network for
  every ablated channel; the layers below the target layer do not depend on the ablation, so we run them once
  and evaluate only the classifier's head (ResNet: avgpool + fc; timm: ``forward_head``) on batches of
  ablated activations. Ablation rule as the library: the channel is set to 0 when the activation minimum is 0
  (post-ReLU layers, all models here), otherwise to ``min − 1e7``. *Deviation:* the library lowers that value
  by a further 1e7 for every earlier channel in the same batch (it re-reads the minimum of the tensor it is
  modifying), an artefact of its batching that we do not copy; on post-ReLU layers the two agree exactly.
* **ScoreCAM** (Wang et al., 2020): each channel, upsampled bilinearly to the input size and min-max
  normalised, masks the input; ``w = softmax_k(y(x ⊙ M_k))`` over the raw target logits, as the library
  defines it (the paper uses the softmax probability increase over a baseline). We build the masked inputs
  batch by batch (the library materialises all of them: 2048 × 3 × 224 × 224 floats for ResNet-50), with the
  CAM hooks removed, in ``torch.inference_mode()``, channels-last, and score the all-zero input of every
  constant channel (whose normalised map is exactly zero) once instead of once per channel. The masked
  passes run through :func:`xaireport.inference.fast_forward` (BatchNorm folded; on the CPU a frozen oneDNN
  graph, checked against the model on the first batch) with one single-threaded worker per CPU core
  (:func:`xaireport.device.map_batches`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from . import progress as _progress

from .device import map_batches
from .errors import UserError
from .inference import fast_forward
from .modelnames import CAM_METHODS
from .models import Classifier

METHODS = CAM_METHODS
ABLATION_VALUE = 1e7


@dataclass
class CamResult:
    """One explanation.

    Attributes:
        map: float32 224×224 in [0, 1], aligned with ``classifier.crop(image)``.
        class_index, class_name, score: the explained class and its softmax probability.
        seconds: wall time of the explanation.
    """

    method: str
    map: np.ndarray
    class_index: int
    class_name: str
    score: float
    seconds: float


def _target_logit(outputs: torch.Tensor, targets: list[Callable]) -> torch.Tensor:
    index = targets[0].category
    return outputs[:, index]


class _BatchedCAM(BaseCAM):
    """What both fast CAMs share: the classifier, a batch size, and an optional progress bar over batches."""

    def __init__(self, classifier: Classifier, batch_size: int, progress: bool = True):
        super().__init__(classifier.model, [classifier.target_layer], uses_gradients=False)
        self.classifier = classifier
        self.batch_size = batch_size
        self.progress = progress

    def _batches(self, n: int, desc: str):
        return self._progress_over(range(0, n, self.batch_size), None, desc)

    def _progress_over(self, iterable, total: int | None, desc: str):
        return _progress.bar(iterable, desc=desc, leave=False, total=total) if self.progress else iterable


class FastAblationCAM(_BatchedCAM):
    """AblationCAM that evaluates only the head above the target layer on the ablated activations."""

    def __init__(self, classifier: Classifier, batch_size: int = 256, progress: bool = True):
        super().__init__(classifier, batch_size, progress)

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads) -> np.ndarray:
        self.activations_and_grads.release()
        head = self.classifier.head
        acts = torch.from_numpy(np.asarray(activations)).to(self.device)
        weights = np.empty(acts.shape[:2], dtype=np.float32)
        with torch.inference_mode():
            for b in range(acts.shape[0]):
                a = acts[b:b + 1]
                original = float(_target_logit(head(a), targets[b:b + 1])[0])
                minimum = float(a.min())
                value = 0.0 if minimum == 0 else minimum - ABLATION_VALUE
                n = a.shape[1]
                scores = torch.empty(n)
                for start in self._batches(n, "AblationCAM"):
                    idx = torch.arange(start, min(start + self.batch_size, n), device=a.device)
                    batch = a.repeat(len(idx), 1, 1, 1)
                    batch[torch.arange(len(idx), device=a.device), idx] = value
                    scores[start:start + len(idx)] = _target_logit(head(batch), targets[b:b + 1]).float().cpu()
                weights[b] = (original - scores.numpy()) / original
        return weights


class FastScoreCAM(_BatchedCAM):
    """ScoreCAM with batched masking, no hooks on the masked passes, and constant channels scored once."""

    def __init__(self, classifier: Classifier, batch_size: int = 4, progress: bool = True, graph: bool = True):
        super().__init__(classifier, batch_size, progress)
        self.graph = graph
        self.constant_channels = 0

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads) -> np.ndarray:
        self.activations_and_grads.release()
        model = self.classifier.model
        acts = torch.from_numpy(np.asarray(activations)).to(self.device)
        upsample = torch.nn.UpsamplingBilinear2d(size=input_tensor.shape[-2:])
        fmt = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        weights = np.empty(acts.shape[:2], dtype=np.float32)
        with torch.inference_mode():
            for b in range(acts.shape[0]):
                x = input_tensor[b:b + 1].detach()
                a = acts[b:b + 1]
                target = targets[b:b + 1]
                # The library's min-max normalisation of each upsampled map, computed a slice at a time.
                mins, maxs = torch.cat([torch.stack(upsample(a[:, i:i + 64])[0].flatten(1).aminmax(dim=1), 1)
                                        for i in range(0, a.shape[1], 64)]).unbind(1)
                scores = torch.empty(a.shape[1])
                constant = (maxs == mins).cpu()
                if constant.any():
                    # (u − min) / (max − min + 1e-8) is exactly 0: every constant channel masks to zeros.
                    self.constant_channels += int(constant.sum())
                    zero = torch.zeros_like(x).contiguous(memory_format=fmt)
                    scores[constant] = float(_target_logit(model(zero), target)[0])
                live = (~constant).nonzero().flatten()

                def masked(idx: torch.Tensor) -> torch.Tensor:
                    # Every batch is full (the last one repeats its final channel): one traced shape.
                    idx = torch.cat([idx, idx[-1:].expand(self.batch_size - len(idx))]).to(a.device)
                    masks = (upsample(a[:, idx])[0] - mins[idx, None, None]) / (maxs[idx] - mins[idx] + 1e-8)[:, None, None]
                    return (x * masks[:, None]).contiguous(memory_format=fmt)

                batches = [live[i:i + self.batch_size] for i in range(0, len(live), self.batch_size)]
                if batches:
                    with fast_forward(model, masked(batches[0]), self.graph) as forward:
                        def score(idx: torch.Tensor) -> torch.Tensor:
                            with torch.inference_mode():
                                return _target_logit(forward(masked(idx)), target)[:len(idx)].float().cpu()

                        results = map_batches(score, batches, self.device)
                        for idx, s in zip(batches, self._progress_over(results, len(batches), "ScoreCAM")):
                            scores[idx] = s
                weights[b] = torch.softmax(scores, dim=-1).numpy()
        return weights


def explain(classifier: Classifier, image: np.ndarray, method: str, target: int | None = None, *,
            batch_size: int | None = None, progress: bool = True) -> CamResult:
    """Explain the classifier's decision on one image.

    Args:
        classifier: from :func:`xaireport.models.load`.
        image: RGB uint8 H×W×3 (any size; cropped as the model sees it).
        method: ``gradcam``, ``ablationcam`` or ``scorecam``.
        target: class index to explain; default the top-1 class.
        batch_size: ablated channels per head pass (AblationCAM, default 256) or masked inputs per forward
            pass (ScoreCAM, default 4; on a CPU each core runs its own batch).
        progress: show a tqdm bar for the per-channel loops.

    Returns:
        :class:`CamResult` whose ``map`` is aligned with ``classifier.crop(image)``.
    """
    if method not in METHODS:
        raise UserError(f"unknown CAM method {method!r}: choose from {', '.join(METHODS)}")
    x = classifier.preprocess(image)
    with torch.inference_mode():
        probs = torch.softmax(classifier.model(x), dim=1)[0].float().cpu()
    index = int(probs.argmax()) if target is None else int(target)
    if not 0 <= index < len(classifier.categories):
        raise UserError(f"target class {index} is out of range for {classifier.name} "
                        f"({len(classifier.categories)} classes)")
    targets = [ClassifierOutputTarget(index)]
    start = time.perf_counter()
    if method == "gradcam":
        with GradCAM(classifier.model, [classifier.target_layer]) as cam:
            grayscale = cam(x.clone().requires_grad_(True), targets)
    elif method == "ablationcam":
        cam = FastAblationCAM(classifier, batch_size or 256, progress)
        grayscale = cam(x, targets)
    else:
        cam = FastScoreCAM(classifier, batch_size or 4, progress)
        grayscale = cam(x, targets)
    seconds = time.perf_counter() - start
    return CamResult(method=method, map=np.asarray(grayscale[0], dtype=np.float32), class_index=index,
                     class_name=classifier.categories[index], score=float(probs[index]), seconds=seconds)
