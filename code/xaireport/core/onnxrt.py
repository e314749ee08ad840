"""A model's forward pass exported to ONNX and run by ONNX Runtime: the CPU backend of
:func:`xaireport.core.inference.fast_forward`.

Why: LIME's perturbed images and ScoreCAM's masked inputs are thousands of forward passes of one network, and
on a CPU ONNX Runtime runs them faster than PyTorch: on a 2-core AVX2 CPU, one single-threaded worker per core,
EfficientNet-Lite0 at batch 8 ran 146 images/s against 105 for the frozen oneDNN graph and 102 for eager
channels-last PyTorch; ResNet-50 at batch 4, 22.3 against 17.9 (``benchmarks/bench_forward.py``).

How:

- the model is exported once per architecture (:func:`torch.onnx.export`, TorchScript exporter, a dynamic batch
  axis, no constant folding, so every weight stays an initializer named as in the model's ``state_dict``);
- a model of the same architecture with other weights (the sanity checks' randomized copies, a fine-tuned
  checkpoint) reuses that export with its own weights written into the initializers (~0.1 s instead of a new
  export); "the same architecture" is the same ``repr`` (layer types and their settings), the same state-dict
  names and shapes, and the same input shape and dtype;
- ONNX Runtime folds BatchNorm into the convolutions and fuses activations itself; the session runs with one
  intra-op thread, because :func:`xaireport.core.device.map_batches` already runs one batch per core.

The caller (:class:`xaireport.core.inference.GraphCache`) checks the session's logits against the eager model's
on the first batch before using it; :func:`forward` returns ``None`` when ONNX Runtime or ``onnx`` is not
installed or the model cannot be exported, and the caller falls back to PyTorch.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

#: How many architectures' exports are kept (an export of ResNet-50 is ~100 MB).
EXPORTS_KEPT = 2


class OnnxForward:
    """``model(x)`` for CPU batches, through an ONNX Runtime session (thread-safe; one thread per call)."""

    def __init__(self, session, reused_export: bool):
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.reused_export = reused_export  # weights written into an earlier export of the same architecture

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        a = np.ascontiguousarray(x.detach().cpu().numpy())  # channels-last in, NCHW out
        return torch.from_numpy(self.session.run(None, {self.input_name: a})[0])


class _Exports:
    """ONNX exports per architecture signature (least recently used first out)."""

    def __init__(self, kept: int = EXPORTS_KEPT):
        self.kept = kept
        self._protos: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.exports = 0  # how many exports ran (tests and benchmarks read it)

    def get(self, signature: str) -> bytes | None:
        with self._lock:
            if signature in self._protos:
                self._protos.move_to_end(signature)
            return self._protos.get(signature)

    def put(self, signature: str, proto: bytes) -> None:
        with self._lock:
            self.exports += 1
            self._protos[signature] = proto
            while len(self._protos) > self.kept:
                self._protos.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._protos.clear()


#: The process's exports.
EXPORTS = _Exports()


def available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def signature(model: nn.Module, example: torch.Tensor) -> str:
    """What an export depends on besides the weights' values."""
    h = hashlib.sha256(repr(model).encode())
    h.update(type(model).__module__.encode() + type(model).__qualname__.encode())
    for name, t in model.state_dict().items():
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
    h.update(f"{tuple(example.shape[1:])}:{example.dtype}".encode())
    return h.hexdigest()


def export(model: nn.Module, example: torch.Tensor) -> bytes:
    """The ONNX model of ``model`` (weights as initializers named as in its state dict), batch axis dynamic."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            model,
            (example.contiguous(),),
            Path(tmp) / "model.onnx",
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            do_constant_folding=False,
            dynamo=False,
        )
        return (Path(tmp) / "model.onnx").read_bytes()


def with_weights(proto: bytes, model: nn.Module) -> bytes | None:
    """``proto`` with every initializer replaced by ``model``'s tensor of the same name; ``None`` if an
    initializer has no such tensor (the export then holds values the model does not name).

    The exporter stores tensors of equal values once and names the others ``Identity`` nodes of it (a fresh
    network's BatchNorm weights are all ones): such a node whose output is a weight of ``model`` becomes that
    weight's own initializer again, since the new weights need not be equal.
    """
    import onnx
    from onnx import numpy_helper

    onnx_model = onnx.load_from_string(proto)
    graph = onnx_model.graph
    state = model.state_dict()

    def tensor(name: str):
        # C order: a channels-last weight's numpy view is strided, and the proto takes raw bytes
        return numpy_helper.from_array(np.ascontiguousarray(state[name].detach().cpu().numpy()), name)

    names = {init.name for init in graph.initializer}
    if not names <= state.keys():
        return None
    aliases = [n for n in graph.node if n.op_type == "Identity" and n.input[0] in names and n.output[0] in state]
    for node in aliases:
        graph.node.remove(node)
    graph.initializer.extend(tensor(node.output[0]) for node in aliases)
    for init in graph.initializer:
        init.CopyFrom(tensor(init.name))
    return onnx_model.SerializeToString()


def session(proto: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(proto, options, providers=["CPUExecutionProvider"])


def forward(model: nn.Module, example: torch.Tensor, reuse: bool = True) -> OnnxForward | None:
    """An ONNX Runtime stand-in for the eval-mode ``model`` on CPU batches shaped like ``example`` (unchecked:
    the caller compares it with the model), or ``None`` when it cannot be built."""
    if example.device.type != "cpu" or not available():
        return None
    sig = signature(model, example)
    earlier = EXPORTS.get(sig) if reuse else None
    proto = with_weights(earlier, model) if earlier is not None else None
    reused = proto is not None
    try:
        if proto is None:
            proto = export(model, example)
            EXPORTS.put(sig, proto)
        return OnnxForward(session(proto), reused)
    except Exception:  # noqa: BLE001 - an op the exporter or runtime lacks, an untraceable model: run PyTorch
        return None
