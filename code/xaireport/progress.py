"""Progress bars (tqdm) for long loops, on in the terminal and off inside a rendered page.

In a Quarto render the kernel's stderr would end up in the page, so :func:`xaireport.report.open_report`
switches bars off with :func:`set_enabled`; the CLI leaves them on.
"""
from __future__ import annotations

from typing import Iterable, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
_enabled = True


def set_enabled(on: bool) -> None:
    global _enabled
    _enabled = bool(on)


def enabled() -> bool:
    return _enabled


def bar(iterable: Iterable[T], desc: str, unit: str = "it", leave: bool = True, **kw) -> Iterable[T]:
    """``tqdm(iterable)`` unless bars are switched off."""
    return tqdm(iterable, desc=desc, unit=unit, leave=leave, disable=not _enabled, **kw)
