"""A call's own peak memory (``core/memory.py``): measured the same whether it runs first or again (issue 33: a
method run after another looked free because the allocator reused what the first had freed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xaireport.core import memory


def _numpy_200mb() -> float:
    a = np.ones(200 * 2**20 // 8)  # touched
    return float(a[:: 2**16].sum())


def _torch_100mb() -> float:
    t = torch.ones(100 * 2**20 // 4)
    return float(t[:: 2**16].sum())


@pytest.mark.parametrize("fn, size", [(_numpy_200mb, 200), (_torch_100mb, 100)])
def test_a_call_measures_its_own_peak_first_and_again(fn, size):
    peaks = [memory.measure(fn, "cpu")[2] / 2**20 for _ in range(3)]
    assert all(0.9 * size <= p <= 1.3 * size for p in peaks), peaks


def test_without_a_resettable_high_water_mark_the_memory_is_sampled(monkeypatch):
    monkeypatch.setattr(memory, "_reset_hwm", lambda: False)
    out, seconds, peak = memory.measure(_numpy_200mb, "cpu", interval=0.001)
    assert out > 0 and seconds > 0 and 150 * 2**20 <= peak <= 260 * 2**20
