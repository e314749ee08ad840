"""Peak memory of one call, on the device that runs it: the call's **own** peak, above what the process held when
it started.

* On a GPU: the CUDA allocator's peak (``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``) minus
  what was allocated before.
* On a CPU (Linux): the kernel's high-water mark of the process's resident memory (``VmHWM``), reset just before
  the call (writing ``5`` to ``/proc/self/clear_refs``), minus the resident memory at the start. Before that, freed
  memory the allocator still holds is returned to the system (``gc.collect`` and glibc's ``malloc_trim(0)``): memory
  an earlier call freed would otherwise be reused without showing, and a method run second would look free
  (issue 33). Where the high-water mark cannot be reset, the resident memory is sampled every few milliseconds
  instead (a short peak between two samples can be missed).
"""

from __future__ import annotations

import ctypes
import gc
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


def _hwm_bytes() -> int | None:
    """The resident high-water mark (``VmHWM`` of ``/proc/self/status``), or ``None`` where there is none."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_hwm() -> bool:
    """Reset the high-water mark to the current resident memory (Linux ≥ 4.0); ``False`` where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def release_freed() -> None:
    """Collect garbage and return the memory the C allocator holds free to the system (glibc ``malloc_trim``)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure(fn: Callable[[], T], device_type: str = "cpu", interval: float = 0.005) -> tuple[T, float, int]:
    """``(fn(), seconds, peak bytes the call needed above what the process held at its start)``."""
    if device_type == "cuda":
        import torch

        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        return out, time.perf_counter() - start, int(torch.cuda.max_memory_allocated() - base)
    release_freed()
    if _reset_hwm() and _hwm_bytes() is not None:
        base = _rss_bytes()
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
        return out, seconds, max(0, (_hwm_bytes() or base) - base)
    return _sampled(fn, interval)


def _sampled(fn: Callable[[], T], interval: float) -> tuple[T, float, int]:
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
