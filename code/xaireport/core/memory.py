"""Peak memory of one call, on the device that runs it: on a GPU the CUDA allocator's peak
(``torch.cuda.max_memory_allocated``), on a CPU the process's resident memory sampled every few milliseconds (the
peak above the resident memory at the start: what the call added, to within one sampling interval)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_PAGE = 4096


def _rss_bytes() -> int:
    """Resident memory of this process (Linux ``/proc/self/statm``; 0 where it does not exist)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def measure(fn: Callable[[], T], device_type: str = "cpu", interval: float = 0.005) -> tuple[T, float, int]:
    """``(fn(), seconds, peak bytes added)``."""
    if device_type == "cuda":
        import torch

        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        return out, time.perf_counter() - start, int(torch.cuda.max_memory_allocated() - base)
    base = _rss_bytes()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        out = fn()
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    peak[0] = max(peak[0], _rss_bytes())
    return out, seconds, max(0, peak[0] - base)
