"""Progress for long loops: tqdm bars on a terminal, plain lines in a log, nothing inside a rendered page.

* On a terminal (stderr is a TTY): tqdm bars; bars inside an explanation (``leave=False``) disappear when done.
* When stderr is not a terminal (a log file, CI, a pipe): one plain line per step, at most one every
  ``LINE_INTERVAL`` seconds per loop plus the last, and no cursor-movement escapes (nested tqdm bars would
  leave ``[A`` junk there).
* In a Quarto render the kernel's stderr would end up in the page, so :func:`xaireport.report.open_report`
  switches progress off with :func:`set_enabled`; the CLI leaves it on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_enabled = True
LINE_INTERVAL = 5.0


def set_enabled(on: bool) -> None:
    global _enabled
    _enabled = bool(on)


def enabled() -> bool:
    return _enabled


def _terminal() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def note(message: str) -> None:
    """One status line on stderr (``xaireport: loading efficientnet-lite0``) when progress is on."""
    if _enabled:
        print(f"xaireport: {message}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """One warning line on stderr (``xaireport: warning: ...``), shown even when progress is off."""
    print(f"xaireport: warning: {message}", file=sys.stderr, flush=True)


def bar(
    iterable: Iterable[T], desc: str, unit: str = "it", leave: bool = True, total: int | None = None, **kw
) -> Iterable[T]:
    """``tqdm(iterable)`` on a terminal, plain progress lines otherwise, the bare iterable when switched off."""
    if not _enabled:
        return iterable
    if not _terminal():
        return _lines(iterable, desc, unit, total)
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, unit=unit, leave=leave, total=total, **kw)


def _lines(iterable: Iterable[T], desc: str, unit: str, total: int | None) -> Iterator[T]:
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    start = last = time.monotonic()
    done = 0
    for item in iterable:
        yield item
        done += 1
        now = time.monotonic()
        if now - last >= LINE_INTERVAL or done == total:
            of = f"/{total}" if total else ""
            print(f"{desc}: {done}{of} {unit} ({now - start:.1f} s)", file=sys.stderr, flush=True)
            last = now
