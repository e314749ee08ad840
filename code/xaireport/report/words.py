"""Counts and lists in a sentence: a chapter that shows what the settings chose says how many in words
(``three methods``) and names them (``Grad-CAM, AblationCAM and ScoreCAM``), never a number typed into prose."""

from __future__ import annotations

from collections.abc import Sequence

_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def number(n: int) -> str:
    """``n`` in words up to twelve (``0`` → ``no``), in digits above."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``one method``, ``three methods``, ``14 methods``, ``no methods``."""
    return f"{number(n)} {noun if n == 1 else (plural or noun + 's')}"


def and_list(items: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C`` (empty: ``nothing``)."""
    items = list(items)
    if not items:
        return "nothing"
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def p_value(p: float) -> str:
    """``0.036``; ``< 0.001`` below that (three decimals would print 0.000); ``—`` when there is none."""
    if p != p:  # NaN: no test
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_text(p: float) -> str:
    """``p = 0.036``, ``p < 0.001``: a p-value in a sentence."""
    value = p_value(p)
    return f"p {value}" if value.startswith("<") else f"p = {value}"
