"""Fast forward passes (ONNX Runtime, BatchNorm folding, the checked oneDNN graph) and one worker per CPU core."""

from __future__ import annotations

import copy
import threading

import pytest
import timm
import torch
import torchvision
from torch import nn

from xaireport.core import inference, onnxrt
from xaireport.core.device import map_batches


def _resnet18() -> nn.Module:
    torch.manual_seed(0)
    m = torchvision.models.resnet18().eval().to(memory_format=torch.channels_last)
    with torch.no_grad():  # non-trivial running statistics, as in a trained network
        for bn in (mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.3, 0.3), bn.running_var.uniform_(0.5, 2.0)
    return m


def test_fold_batchnorm_same_outputs_no_batchnorm_model_untouched():
    m = _resnet18()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    folded = inference.fold_batchnorm(m)
    x = torch.rand(2, 3, 112, 112).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.allclose(folded(x), m(x), rtol=1e-4, atol=1e-4)
    assert not any(isinstance(mod, nn.BatchNorm2d) for mod in folded.modules())
    assert sum(isinstance(mod, nn.BatchNorm2d) for mod in m.modules()) == 20
    assert all(torch.equal(v, before[k]) for k, v in m.state_dict().items())
    assert folded.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not folded.conv1.weight.is_contiguous()


def test_fold_batchnorm_leaves_untraceable_models_as_they_are():
    m = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    assert inference.fold_batchnorm(m) is m


def test_fast_forward_runs_onnxruntime_on_cpu_and_pytorch_without_it(monkeypatch):
    m = _resnet18()
    x = torch.rand(4, 3, 112, 112).contiguous(memory_format=torch.channels_last)
    y = torch.rand(4, 3, 112, 112).contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), inference.fast_forward(m, x) as forward:
        assert isinstance(forward, onnxrt.OnnxForward)
        assert torch.allclose(forward(y), m(y), rtol=1e-4, atol=1e-4)
        # the batch axis is dynamic: another batch size runs through the same session
        assert torch.allclose(forward(y[:3]), m(y[:3]), rtol=1e-4, atol=1e-4)
    with inference.fast_forward(m, x, graph=False) as forward:
        assert not isinstance(forward, (onnxrt.OnnxForward, torch.jit.ScriptModule))
    monkeypatch.setattr(onnxrt, "available", lambda: False)
    inference.GRAPHS.clear()
    before = torch.jit.onednn_fusion_enabled()
    with torch.no_grad(), inference.fast_forward(m, x) as forward:
        assert isinstance(forward, torch.jit.ScriptModule)
        assert torch.jit.onednn_fusion_enabled()
        assert torch.allclose(forward(y), m(y), rtol=1e-3, atol=1e-3)
    assert torch.jit.onednn_fusion_enabled() == before
    inference.GRAPHS.clear()


def test_fast_forward_falls_back_to_eager_when_the_graph_disagrees(monkeypatch):
    m = _resnet18()
    x = torch.rand(2, 3, 64, 64)

    class Wrong(nn.Module):
        def forward(self, t):
            return torch.zeros(t.shape[0], 1000)

    monkeypatch.setattr(onnxrt, "available", lambda: False)
    monkeypatch.setattr(torch.jit, "freeze", lambda traced: torch.jit.script(Wrong()))
    with torch.no_grad(), inference.fast_forward(m, x) as forward:
        assert not isinstance(forward, torch.jit.ScriptModule)
        assert torch.allclose(forward(x), m(x), rtol=1e-4, atol=1e-4)
    inference.GRAPHS.clear()


def _randomized(m: nn.Module, seed: int) -> nn.Module:
    other = copy.deepcopy(m)
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in other.parameters():
            p.normal_(0, 0.05)
    return other


def test_onnx_export_is_reused_for_other_weights_of_the_same_architecture(monkeypatch):
    onnxrt.EXPORTS.clear()
    m = _resnet18()
    x = torch.rand(2, 3, 64, 64)
    exports = onnxrt.EXPORTS.exports
    first = inference._checked_onnx(m, x)
    assert first is not None and not first.reused_export and onnxrt.EXPORTS.exports == exports + 1
    other = _randomized(m, 1)  # m's BatchNorm weights are all ones: the export stores them once (Identity nodes)
    second = inference._checked_onnx(other, x)
    assert second is not None and second.reused_export and onnxrt.EXPORTS.exports == exports + 1
    with torch.no_grad():
        assert torch.allclose(second(x), other(x), rtol=1e-4, atol=1e-4)
        assert not torch.allclose(second(x), m(x), rtol=1e-2, atol=1e-2)  # not the first model's weights
    # a written-in export that disagrees with its model is replaced by a fresh export of that model
    monkeypatch.setattr(onnxrt, "with_weights", lambda proto, model: proto)
    third_model = _randomized(m, 2)
    third = inference._checked_onnx(third_model, x)
    assert third is not None and not third.reused_export and onnxrt.EXPORTS.exports == exports + 2
    with torch.no_grad():
        assert torch.allclose(third(x), third_model(x), rtol=1e-4, atol=1e-4)
    onnxrt.EXPORTS.clear()


def test_onnx_signature_tells_architectures_with_equal_weight_shapes_apart():
    x = torch.rand(1, 3, 64, 64)
    tf_same = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()  # TF "same" padding
    plain = timm.create_model("efficientnet_lite0", pretrained=False).eval()
    assert [v.shape for v in tf_same.state_dict().values()] == [v.shape for v in plain.state_dict().values()]
    assert onnxrt.signature(tf_same, x) != onnxrt.signature(plain, x)
    assert onnxrt.signature(tf_same, x) == onnxrt.signature(_randomized(tf_same, 0), x)
    assert onnxrt.signature(tf_same, x) != onnxrt.signature(tf_same, torch.rand(1, 3, 96, 96))


def test_map_batches_keeps_order_uses_one_thread_per_worker_and_restores():
    before = torch.get_num_threads()
    seen = []

    def fn(i: int) -> int:
        seen.append((threading.get_ident(), torch.get_num_threads()))
        return i * i

    out = list(map_batches(fn, range(20), torch.device("cpu")))
    assert out == [i * i for i in range(20)]
    assert torch.get_num_threads() == before
    if before > 1:
        assert {n for _, n in seen} == {1}
        assert threading.get_ident() not in {t for t, _ in seen}


def test_map_batches_is_plain_map_off_the_cpu():
    seen = []
    out = list(map_batches(lambda i: seen.append(threading.get_ident()) or -i, [1, 2, 3], torch.device("meta")))
    assert out == [-1, -2, -3] and set(seen) == {threading.get_ident()}


def test_map_batches_propagates_errors_and_restores_threads():
    before = torch.get_num_threads()

    def fn(i: int) -> int:
        if i == 3:
            raise ValueError("batch 3")
        return i

    with pytest.raises(ValueError, match="batch 3"):
        list(map_batches(fn, range(6), torch.device("cpu")))
    assert torch.get_num_threads() == before


def test_graph_is_traced_once_per_model_and_shape_and_never_reused_stale():
    m = _resnet18()
    x = torch.rand(2, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    cache = inference.GraphCache(models_kept=2)
    first = cache.get(m, x, True)
    assert cache.get(m, torch.rand_like(x), True) is first and cache.traces == 1  # same shape: reused
    cache.get(m, torch.rand(4, 3, 64, 64).contiguous(memory_format=torch.channels_last), True)
    assert cache.traces == 2  # another batch shape: its own graph
    with torch.no_grad():
        m.fc.weight.mul_(2.0)  # weights edited in place: the old graph must not be used
    again = cache.get(m, x, True)
    assert again is not first and cache.traces == 3
    with torch.no_grad():
        assert torch.allclose(again(x), m(x), rtol=1e-3, atol=1e-3)
    others = [_resnet18(), _resnet18()]
    for o in others:
        cache.get(o, x, False)
    assert cache.get(m, x, True) is not again  # evicted: only the last two models are kept


def test_peak_memory_of_a_call_sees_a_short_lived_allocation():
    import numpy as np

    from xaireport.core.memory import measure

    def allocate() -> int:
        a = np.ones(200 * 2**20 // 8)  # 200 MB, touched
        total = int(a[:: 2**16].sum())
        del a
        return total

    out, seconds, peak = measure(allocate, "cpu", interval=0.001)
    assert out == (200 * 2**20 // 8 + 2**16 - 1) // 2**16 and seconds > 0
    assert 150 * 2**20 <= peak <= 260 * 2**20
