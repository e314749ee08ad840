from __future__ import annotations

import io

from xaireport.core import progress


def test_plain_lines_when_stderr_is_not_a_terminal(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(progress, "LINE_INTERVAL", 0.0)
    outer = list(progress.bar(range(2), desc="images", unit="image"))
    inner = list(progress.bar(iter(range(3)), desc="ScoreCAM", leave=False, total=3))
    assert outer == [0, 1] and inner == [0, 1, 2]
    lines = err.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "images: 1/2 image",
        "images: 2/2 image",
        "ScoreCAM: 1/3 it",
        "ScoreCAM: 2/3 it",
        "ScoreCAM: 3/3 it",
    ]
    assert "\x1b" not in err.getvalue() and "\r" not in err.getvalue()  # no cursor movement, no [A junk


def test_last_step_always_reported_and_switch_off(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    list(progress.bar(range(50), desc="LIME samples"))
    assert err.getvalue().splitlines()[-1].startswith("LIME samples: 50/50 it")
    assert len(err.getvalue().splitlines()) <= 2  # at most one line per LINE_INTERVAL, plus the last
    progress.set_enabled(False)
    try:
        err.truncate(0)
        err.seek(0)
        assert list(progress.bar(range(3), desc="x")) == [0, 1, 2]
        progress.note("hidden")
        assert err.getvalue() == ""
    finally:
        progress.set_enabled(True)
