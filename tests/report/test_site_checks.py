"""The rendered-site checks (``site_checks.py``) catch what they claim to, on hand-made pages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
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


#: A citation as Quarto writes it, parenthetical (``[@key]``) and in-text (``@key``).
CITE = '<span class="citation" data-cites="s17">(<a href="#ref-s17">Selvaraju et al. 2017</a>)</span>'
IN_TEXT = '<span class="citation" data-cites="s17">Selvaraju et al. (<a href="#ref-s17">2017</a>)</span>'


def test_what_clutters_a_readers_page_is_reported(tmp_path):
    """Issue 37: per-cell "Code" toggles, a citation's parentheses inside a sentence's, "Typst" as a format link."""
    page = _page(
        tmp_path,
        '<details class="code-fold"><summary>Code</summary><pre><code>x = 1</code></pre></details>'
        f"<p>from gradients (Grad-CAM {CITE}), or by masks (ScoreCAM, {IN_TEXT}).</p>"
        f"<ul><li>Sparseness [{IN_TEXT}, as Quantus; chapter 2].</li></ul>"
        '<div class="quarto-alternate-formats"><h2>Other Formats</h2><ul><li><a href="p.html"><i class="bi"></i>Typst'
        "</a></li></ul></div>",
    )
    problems = page_problems(tmp_path, page)
    assert problems == [
        "chapters/p.html: 1 per-cell code toggles (the page's code is behind one button)",
        "chapters/p.html: a citation in parentheses inside parentheses: 'from gradients (Grad-CAM (Selvaraju et al. "
        "2017)'",
        "chapters/p.html: a citation in parentheses inside parentheses: 'u et al. 2017)), or by masks (ScoreCAM, "
        "Selvaraju et al. (2017)'",  # the 40 characters before the citation, and the citation
        "chapters/p.html: a bracketed citation Pandoc did not read (a ';' in its text?): 'Sparseness [Selvaraju et "
        "al. (2017)'",
        "chapters/p.html: the margin links the format 'Typst'",
    ]


def test_citations_in_a_readers_form_and_parentheses_in_code_or_formulas_pass(tmp_path):
    page = _page(
        tmp_path,
        f"<p>Grad-CAM {CITE} weights channels; {IN_TEXT} showed it (on ResNets).</p>"
        f"<p>The map (<code>f(g(x))</code> with <math><mi>φ</mi><mo>(</mo><mi>x</mi></math>) {CITE}.</p>"
        "<p>An open ( in one paragraph</p><p>does not reach the next: Grad-CAM " + CITE + "</p>"
        '<div class="quarto-alternate-formats"><h2>Other Formats</h2><ul><li><a href="p.html"><i class="bi"></i>PDF'
        "</a></li></ul></div>",
    )
    assert page_problems(tmp_path, page) == []


@pytest.mark.quarto
@pytest.mark.skipif(shutil.which("quarto") is None, reason="quarto is not installed here")
def test_a_broken_reference_or_a_remote_script_in_a_real_render_fails_the_checks(tmp_path):
    """What a chapter author could break, through real Quarto: a cross-reference to no label renders as
    ``?@fig-…`` (Quarto only warns) and an inline remote script stays in the page; the site checks that
    ``test_quarto_render_smoke`` runs over the report catch both, so either fails ``make test``."""
    from site_checks import site_problems

    from helpers import quarto_render

    (tmp_path / "_quarto.yml").write_text("project:\n  type: website\nformat:\n  html:\n    html-math-method: mathml\n")
    (tmp_path / "index.qmd").write_text("---\ntitle: t\n---\n\nAs @fig-ok shows.\n\n![A figure](f.png){#fig-ok}\n")
    Image.new("RGB", (8, 8)).save(tmp_path / "f.png")
    clean = quarto_render([], tmp_path)
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert site_problems(tmp_path / "_site") == []
    (tmp_path / "index.qmd").write_text(
        "---\ntitle: t\n---\n\nAs @fig-nonexistent shows.\n\n"
        '```{=html}\n<script src="https://cdn.example.org/x.js"></script>\n```\n'
    )
    broken = quarto_render([], tmp_path)
    assert broken.returncode == 0  # Quarto renders it: only the checks stop it
    found = " | ".join(site_problems(tmp_path / "_site"))
    assert "index.html: shows '?@'" in found and "<script src=https://cdn.example.org/x.js> needs the network" in found


def test_a_theme_stylesheet_that_loads_a_web_font_is_reported(tmp_path):
    """Found by the browser test: cosmo's CSS imported Source Sans Pro from fonts.googleapis.com, which the page
    checks (HTML only) did not see."""
    from site_checks import site_problems

    (tmp_path / "site_libs").mkdir()
    (tmp_path / "site_libs/theme.css").write_text(
        '@import url("https://fonts.googleapis.com/css2?family=Source+Sans+Pro&display=swap");'
        "a{background:url(data:image/svg+xml,x)}"
    )
    (tmp_path / "site_libs/clean.css").write_text("a{background:url('data:image/png;base64,AAAA')} b{src:url(f.woff2)}")
    font = "https://fonts.googleapis.com/css2?family=Source+Sans+Pro&display=swap"
    assert site_problems(tmp_path) == [f"site_libs/theme.css: loads {font} from the network"]


def test_an_escape_printed_as_text_is_reported_but_not_in_code_or_math(tmp_path):
    page = _page(tmp_path, r"<p>for Grad\\-CAM and LIME</p>")
    assert any("Grad" in p and "escape" in p for p in page_problems(tmp_path, page))
    fine = _page(tmp_path, r'<p>Grad-CAM <code>a\_b</code> <span class="math inline">\(x\_i\)</span></p>')
    assert page_problems(tmp_path, fine) == []
