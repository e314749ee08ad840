"""The rendered-site checks (``site_checks.py``) catch what they claim to, on hand-made pages."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from site_checks import page_problems


def _page(site: Path, body: str) -> Path:
    (site / "chapters").mkdir(parents=True, exist_ok=True)
    page = site / "chapters" / "p.html"
    page.write_text(f"<html><head></head><body>{body}</body></html>", encoding="utf-8")
    return page


def test_a_clean_page_has_no_problems(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "f.png")
    page = _page(tmp_path, '<a href="../f.png#x">f</a><img src="../f.png"><a href="#sec">s</a><a href="https://x.org">')
    assert page_problems(tmp_path, page) == []


def test_each_defect_is_reported(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    page = _page(
        tmp_path,
        '<p>See ?@fig-nonexistent.</p><script src="https://cdn.example/x.js"></script>'
        '<a href="missing.html">m</a><img src="../bad.png"><pre>Traceback (most recent call last):</pre>',
    )
    found = " | ".join(page_problems(tmp_path, page))
    for expected in ("'?@'", "needs the network", "missing.html> points at a missing file", "not a valid PNG",
                     "'Traceback (most recent call last)'"):  # fmt: skip
        assert expected in found, found
