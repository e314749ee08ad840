"""report/render_info.py, the pre-render step: the chapter list lives in one place (issue 35): ``project.render``;
the navbar, the PDFs menu and the book follow it, and a render whose lists disagree stops with one line each."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from xaireport.report import render_info
from xaireport.report.render_info import chapter_list_problems


def test_the_report_s_lists_follow_project_render(root):
    assert chapter_list_problems(root) == []
    config = yaml.safe_load((root / "_quarto.yml").read_text())
    assert render_info.chapters(config)[:2] == ["chapters/network-dissection.qmd", "chapters/cam-methods.qmd"]


@pytest.fixture()
def copy(root, tmp_path) -> Path:
    """The project's chapter lists (``_quarto.yml``, the chapters' first lines, the book) in a folder of its own."""
    shutil.copy(root / "_quarto.yml", tmp_path / "_quarto.yml")
    (tmp_path / "chapters").mkdir()
    for page in render_info.chapters(yaml.safe_load((root / "_quarto.yml").read_text())):
        first = (root / page).read_text().splitlines()[0]
        (tmp_path / page).write_text(first + "\n")
    shutil.copy(root / "chapters/book.qmd", tmp_path / "chapters/book.qmd")
    return tmp_path


def _add_chapter(project: Path) -> None:
    """What CONTRIBUTING's recipe's first step does: a new chapter listed in project.render, before the home page."""
    config = (project / "_quarto.yml").read_text()
    config = config.replace("    - index.qmd\n", "    - chapters/new-chapter.qmd\n    - index.qmd\n", 1)
    (project / "_quarto.yml").write_text(config)
    (project / "chapters/new-chapter.qmd").write_text("# A new chapter {#sec-new}\n")


def test_a_chapter_missing_from_the_navbar_menu_and_book_is_named(copy):
    _add_chapter(copy)
    problems = chapter_list_problems(copy)
    assert problems == [
        "the navbar lacks 'chapters/new-chapter.qmd' (item 7 of project.render)",
        "the PDFs menu lacks '7 A new chapter (chapters/new-chapter.pdf)' (item 7 of project.render)",
        "chapters/book.qmd (its includes) lacks 'chapters/new-chapter.qmd' (item 7 of project.render)",
    ]
    config = (copy / "_quarto.yml").read_text()
    config = config.replace(
        "        text: Which explanation?\n",
        "        text: Which explanation?\n      - href: chapters/new-chapter.qmd\n        text: New\n",
    )
    config = config.replace(
        '            text: "6 Which explanation to trust?"\n',
        '            text: "6 Which explanation to trust?"\n          - href: chapters/new-chapter.pdf\n'
        '            text: "7 A new chapter"\n',
    )
    (copy / "_quarto.yml").write_text(config)
    with (copy / "chapters/book.qmd").open("a") as f:
        f.write("\n{{< include new-chapter.qmd >}}\n")
    assert chapter_list_problems(copy) == []  # the recipe's other steps, done


def test_an_order_that_differs_is_named(copy):
    book = copy / "chapters/book.qmd"
    text = book.read_text()
    book.write_text(
        text.replace("{{< include lime.qmd >}}", "X")
        .replace("{{< include cam-methods.qmd >}}", "{{< include lime.qmd >}}")
        .replace("X", "{{< include cam-methods.qmd >}}")
    )
    assert chapter_list_problems(copy) == [
        "chapters/book.qmd (its includes) has 'chapters/lime.qmd' as item 2 where project.render asks for "
        "'chapters/cam-methods.qmd'"
    ]


def test_the_pre_render_step_stops_on_a_disagreement(copy):
    _add_chapter(copy)
    env = {**os.environ, "QUARTO_PROJECT_DIR": str(copy)}
    r = subprocess.run([sys.executable, render_info.__file__], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("xaireport: the chapter list of _quarto.yml: ") for line in lines)
    assert not (copy / "_variables.yml").exists()
