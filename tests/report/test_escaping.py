"""A user's strings are data (issue 26): hostile file, class and model names go through every Markdown helper and
come out, rendered by a real pandoc (the one Quarto runs on), as the same literal text, with no tag, link, math,
emphasis or extra table column."""

from __future__ import annotations

import html
import re

import pandas as pd
import pypandoc
import pytest

from xaireport.report.escaping import attribute, md
from xaireport.report.tables import markdown

HOSTILE = [
    "<img src=x onerror=alert(1)>.png",
    "<script>alert(1)</script>",
    "a|b.jpg",
    "pipe | 285",
    "**bold** _it_ `code` [link](http://x) ![i](y.png)",
    "$x^2$ @fig-cam {{< pagebreak >}} #not-a-heading",
    "tom & jerry; 1 < 2 > 0 \\ back\\slash",
    "line\nbreak\r\n- not a list",
    "1. not-ordered ~sub~ ^sup^ <!-- c -->",
]


def to_html(text: str) -> str:
    return pypandoc.convert_text(text, "html", format="markdown")


def visible(page: str) -> str:
    """The text a reader sees: tags removed, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.mark.parametrize("name", HOSTILE)
def test_an_escaped_name_renders_as_its_literal_text_and_nothing_else(name):
    page = to_html(f"Best image: {md(name)}.")
    assert visible(page) == "Best image: " + " ".join(name.split()) + "."
    tags = set(re.findall(r"</?([a-zA-Z0-9]+)", page))
    assert tags == {"p"}, page  # no img, script, em, strong, code, a, span.math, cite, ol, ul, h1


def test_a_table_of_hostile_names_keeps_every_row_in_its_columns():
    df = pd.DataFrame({"image": HOSTILE, "predicted class": HOSTILE[::-1], "IoU": [0.5] * len(HOSTILE)})
    page = to_html(markdown(df))
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S)
    assert len(rows) == len(HOSTILE) + 1
    for row, (a, b) in zip(rows[1:], zip(HOSTILE, HOSTILE[::-1])):
        cells = [visible(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        assert cells == [" ".join(a.split()), " ".join(b.split()), "0.500"]
    assert "<script" not in page and "<img" not in page


def test_a_hostile_alt_text_stays_inside_its_attribute():
    alt = 'a "quoted" <b>name</b> \\ end'
    page = to_html(f'![caption](fig.png){{fig-alt="{attribute(alt)}"}}')
    (img,) = re.findall(r"<img[^>]*>", page)
    assert html.unescape(re.search(r'alt="([^"]*)"', img).group(1)) == alt and "<b>" not in page


def test_the_cam_chapter_tabs_escape_the_image_and_class_names(tmp_path):
    from types import SimpleNamespace

    from xaireport.report import cam_methods

    name = "<img src=x onerror=alert(1)>|*x*.png"
    image = SimpleNamespace(stem=name[:-4], name=name)
    run = SimpleNamespace(image=image, prediction=SimpleNamespace(class_name="$cls$ | <b>", score=0.5), results={})
    report = SimpleNamespace(md_path=lambda p: "rows/x.png")
    real = cam_methods.row_figure
    cam_methods.row_figure = lambda r, p: p
    try:
        text = cam_methods.tabs_markdown([run], report, tmp_path)
    finally:
        cam_methods.row_figure = real
    page = to_html(text)
    assert "<img src=x" not in page and "<b>" not in page
    assert visible(re.search(r"<h3[^>]*>(.*?)</h3>", page, flags=re.S).group(1)) == name[:-4]


def test_inline_expressions_get_markdown_objects_not_reprs():
    """Quarto inserts a plain string's repr (backslashes doubled, markup live) but a Markdown object's text: the
    chapters' inline names go through ``inline``."""
    from IPython.display import Markdown

    from xaireport.report.escaping import inline

    out = inline("a|b_<x>.png")
    assert isinstance(out, Markdown) and out.data == md("a|b_<x>.png")
    assert visible(to_html(out.data)) == "a|b_<x>.png"
