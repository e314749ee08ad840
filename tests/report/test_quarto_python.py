"""Quarto runs the chapters with the project's Python on a user's machine (issue 38): whatever ``python3`` comes
first on ``PATH``, with or without the virtual environment activated, and a render started with a Python that
cannot run the chapters stops with one line that names it and the fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xaireport.report import render_info

HAS_QUARTO = shutil.which("quarto") is not None


def users_shell(root: Path) -> dict[str, str]:
    """The environment of a user's shell with Quarto installed and the project's ``.venv`` not activated: no
    ``QUARTO_PYTHON``, no ``VIRTUAL_ENV``, and ``PATH`` without the environment's ``bin`` (so ``python3`` on it is
    the system's, which has no Jupyter)."""
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k not in ("QUARTO_PYTHON", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p and p != venv_bin)
    return env


def test_missing_modules_and_the_message_name_the_python_and_the_fix(tmp_path):
    have = {"yaml", "nbformat", "nbclient", "jupyter_client", "ipykernel"}
    missing = render_info.missing_modules(lambda name: object() if name in have else None)
    assert missing == ["xaireport"]
    assert render_info.missing_modules(lambda name: object()) == []
    assert render_info.python_problem(tmp_path, [], "/usr/bin/python3") == ""
    text = render_info.python_problem(tmp_path, ["nbformat", "xaireport"], "/usr/bin/python3")
    assert "/usr/bin/python3" in text and "no Jupyter, xaireport" in text and "missing: nbformat, xaireport" in text
    assert "make setup && make report" in text and "\n" not in text
    (tmp_path / ".venv/bin").mkdir(parents=True)
    (tmp_path / ".venv/bin/python").write_text("")
    assert f"export QUARTO_PYTHON={tmp_path / '.venv/bin/python'}" in render_info.python_problem(
        tmp_path, ["nbformat"], "/usr/bin/python3"
    )


def test_the_pre_render_step_refuses_a_python_without_jupyter(tmp_path):
    """``python -S`` (no site-packages: no Jupyter, no yaml, no package) runs the pre-render script as Quarto
    would with a bare Python: exit 1 and one line, no traceback, no ``_variables.yml``."""
    script = Path(render_info.__file__)
    r = subprocess.run(
        [sys.executable, "-S", "-I", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "QUARTO_PROJECT_DIR": str(tmp_path)},
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"xaireport: Quarto is running the chapters with {sys.executable}")
    assert "missing: nbformat, nbclient, jupyter_client, ipykernel, yaml, xaireport" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "_variables.yml").exists()


def _one_page_project(folder: Path, pre_render: bool) -> None:
    config = "project:\n  type: website\n" + (f"  pre-render: {render_info.__file__}\n" if pre_render else "")
    (folder / "_quarto.yml").write_text(config + "format:\n  html:\n    html-math-method: mathml\n")
    (folder / "index.qmd").write_text(
        "---\ntitle: t\n---\n\n```{python}\nimport xaireport, sys\nprint('ran with', sys.executable)\n```\n"
    )


@pytest.mark.quarto
@pytest.mark.skipif(not HAS_QUARTO, reason="quarto is not installed here")
def test_the_render_tests_command_works_from_a_users_shell(tmp_path, root):
    """The render fixture's command (``helpers.quarto_render``) in a shell that has Quarto on ``PATH`` but neither
    ``QUARTO_PYTHON`` nor the environment: the page's Python cell runs with the project's Python."""
    from helpers import quarto_render

    env = users_shell(root)
    assert shutil.which("quarto", path=env["PATH"]), "quarto must stay on PATH"
    _one_page_project(tmp_path, pre_render=False)
    r = quarto_render([], tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"ran with {sys.executable}" in (tmp_path / "_site/index.html").read_text()


@pytest.mark.quarto
@pytest.mark.skipif(not HAS_QUARTO, reason="quarto is not installed here")
def test_a_render_with_a_bare_python_stops_with_the_fix(tmp_path):
    """Quarto given a Python without Jupyter or the package (a fresh venv without pip): the pre-render step
    stops the render with the message, naming that Python."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    project = tmp_path / "project"
    project.mkdir()
    _one_page_project(project, pre_render=True)
    env = {**os.environ, "QUARTO_PYTHON": str(bare / "bin/python")}
    r = subprocess.run(["quarto", "render"], cwd=project, capture_output=True, text=True, env=env)
    assert r.returncode != 0
    assert f"xaireport: Quarto is running the chapters with {bare / 'bin/python'}" in r.stdout + r.stderr
    assert "Fix: make setup && make report" in r.stdout + r.stderr
