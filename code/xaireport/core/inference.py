"""Fast, exact forward passes for loops of thousands of batches (ScoreCAM's masked inputs, LIME's perturbed
images).

:func:`fast_forward` returns a stand-in for an eval-mode model's forward pass that computes the same function
up to float rounding, the first of these that exists and agrees with the model on the first batch:

1. on the CPU, the model exported to ONNX and run by ONNX Runtime (:mod:`xaireport.core.onnxrt`; exported
   once per architecture, other weights of the same architecture written into that export). Measured with
   ``benchmarks/bench_forward.py`` on a 2-core AVX2 CPU, one single-threaded worker per core: EfficientNet-Lite0
   at batch 8, 146 images/s against 105 for step 2's graph and 102 for eager channels-last; ResNet-50 at batch
   4, 22.3 against 17.9;
2. on the CPU without ONNX Runtime, the model with every BatchNorm folded into the convolution before it
   (``torch.fx``), traced and frozen into a TorchScript graph run by oneDNN Graph, which fuses each convolution
   with its activation and residual add and prepacks the weights (ResNet-50, batch 4: 17.9 images/s against
   14.5 folded eager and 12.8 plain channels-last). TorchScript is deprecated in PyTorch 2.x; ``torch.compile``
   with inductor freezing, its replacement, measured 13.9 images/s at batch 4 (``bench_forward.py --compile``)
   after ~20 s of compilation;
3. otherwise (a GPU, ``graph=False``, or a model neither can run) the BatchNorm-folded model in PyTorch
   (``torch.fx``; models fx cannot trace keep their BatchNorm).

Logits agree with the eager model's within 1e-4 (checked to 1e-3 on the first batch). The runs vary by about
±7 % between runs. The forward is kept (:data:`GRAPHS`): one per model and batch shape, reused by every later
image, seed and method (an ONNX export or a trace costs 1–4 s on a CPU). The cache holds the forwards of the
last :data:`MODELS_KEPT` models (the sanity checks make a new model per randomization step) and never outlives
its model: an entry is used only while its model object is alive and its weights are unchanged
(:func:`weights_stamp`).
"""

from __future__ import annotations

import contextlib
import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator

import torch
from torch import nn

Forward = Callable[[torch.Tensor], torch.Tensor]

#: How many models' graphs :data:`GRAPHS` keeps (least recently used first out).
MODELS_KEPT = 4


class GraphCache:
    """Traced forwards per (model, batch shape, dtype, device, memory format), for the last few models."""

    def __init__(self, models_kept: int = MODELS_KEPT):
        self.models_kept = models_kept
        self._entries: OrderedDict[int, tuple[weakref.ref, dict[tuple, Forward], int]] = OrderedDict()
        self._lock = threading.Lock()
        self.traces = 0  # how many graphs were built (tests and benchmarks read it)

    def get(self, model: nn.Module, example: torch.Tensor, graph: bool) -> Forward:
        fmt = "cl" if example.dim() == 4 and example.is_contiguous(memory_format=torch.channels_last) else "c"
        key = (tuple(example.shape), example.dtype, str(example.device), fmt, graph)
        stamp = weights_stamp(model)
        with self._lock:
            entry = self._entries.get(id(model))
            if entry is None or entry[0]() is not model or entry[2] != stamp:
                entry = (weakref.ref(model), {}, stamp)
                self._entries[id(model)] = entry
            self._entries.move_to_end(id(model))
            while len(self._entries) > self.models_kept:
                self._entries.popitem(last=False)
            forwards = entry[1]
            if key not in forwards:
                forwards[key] = _build(model, example, graph)
                self.traces += 1
            return forwards[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def weights_stamp(model: nn.Module) -> int:
    """Changes whenever a parameter or buffer of ``model`` is replaced or modified in place (each tensor's
    storage address and autograd version counter): a graph traced before is then not reused."""
    return hash(tuple((t.data_ptr(), t._version) for t in (*model.parameters(), *model.buffers())))


#: The process's graph cache.
GRAPHS = GraphCache()


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of an eval-mode ``model`` with each BatchNorm folded into its convolution, in the same memory
    format; ``model`` itself when ``torch.fx`` cannot trace it (e.g. timm's EfficientNet)."""
    from torch.fx.experimental.optimization import fuse

    try:
        folded = fuse(model)
    except Exception:  # noqa: BLE001 - fx raises many types for untraceable models; those run unfolded
        return model
    if any(
        p.dim() == 4 and not p.is_contiguous() and p.is_contiguous(memory_format=torch.channels_last)
        for p in model.parameters()
    ):
        folded.to(memory_format=torch.channels_last)
    return folded


def _uses_graph(example: torch.Tensor, graph: bool) -> bool:
    return graph and example.device.type == "cpu" and getattr(torch.jit, "enable_onednn_fusion", None) is not None


@contextlib.contextmanager
def onednn_fusion(on: bool = True) -> Iterator[None]:
    """oneDNN Graph fusion on inside the block (process-wide; it fuses on a graph's first runs), as before after."""
    enable = getattr(torch.jit, "enable_onednn_fusion", None)
    if not on or enable is None:
        yield
        return
    before = torch.jit.onednn_fusion_enabled()
    enable(True)
    try:
        yield
    finally:
        enable(before)


def _build(model: nn.Module, example: torch.Tensor, graph: bool) -> Forward:
    if not _uses_graph(example, graph):
        return fold_batchnorm(model)
    onnx = _checked_onnx(model, example)
    if onnx is not None:
        return onnx
    folded = fold_batchnorm(model)
    with onednn_fusion():
        frozen = _checked_graph(folded, example)
    return frozen if frozen is not None else folded


def _agrees(forward: Forward, model: nn.Module, example: torch.Tensor) -> bool:
    with torch.no_grad():
        return torch.allclose(forward(example), model(example), rtol=1e-3, atol=1e-3)


def _checked_onnx(model: nn.Module, example: torch.Tensor) -> Forward | None:
    """ONNX Runtime's forward (:mod:`xaireport.core.onnxrt`) if it agrees with ``model`` on ``example``; an
    earlier export with these weights written in that disagrees is replaced by a fresh export."""
    from xaireport.core import onnxrt

    for reuse in (True, False):
        forward = onnxrt.forward(model, example, reuse=reuse)
        if forward is None:
            return None
        try:
            if _agrees(forward, model, example):
                return forward
        except Exception:  # noqa: BLE001 - the session failed to run: PyTorch's graph instead
            return None
        if not forward.reused_export:
            return None
    return None


@contextlib.contextmanager
def fast_forward(model: nn.Module, example: torch.Tensor, graph: bool = True) -> Iterator[Forward]:
    """Inside the block, the fastest exact stand-in for ``model(x)`` on batches shaped like ``example``.

    Args:
        model: an eval-mode classifier (not modified).
        example: one input batch; the graph is traced for its shape and memory format and is used only if
            its logits on it agree with the eager model's (``torch.allclose``, rtol = atol = 1e-3).
        graph: allow ONNX Runtime and the frozen oneDNN graph on the CPU (``False``: BatchNorm folding only).
    """
    forward = GRAPHS.get(model, example, graph)
    with onednn_fusion(isinstance(forward, torch.jit.ScriptModule)):
        yield forward


def _checked_graph(model: nn.Module, example: torch.Tensor) -> torch.jit.ScriptModule | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript's deprecation and tracer warnings
            with torch.no_grad():
                frozen = torch.jit.freeze(torch.jit.trace(model, example))
                frozen(example)  # the first run profiles; the check below runs the fused graph
                ok = _agrees(frozen, model, example)
    except Exception:  # noqa: BLE001 - untraceable model, or TorchScript gone from this torch: run eager
        return None
    return frozen if ok else None
