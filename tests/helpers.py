"""Helpers shared by the tests."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path


def quarto_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every test runs Quarto with: ``base`` (default: this process's) with ``QUARTO_PYTHON`` set
    to the Python running the tests (the project's ``.venv``, which has Jupyter and the package), as ``make``
    sets it: Quarto would otherwise start the first ``python3`` on ``PATH`` (issue 38)."""
    import os

    return {**(os.environ if base is None else base), "QUARTO_PYTHON": sys.executable}


def quarto_render(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    """``quarto render ARGS`` in ``cwd`` with :func:`quarto_env` (over ``env`` when given), output captured."""
    return subprocess.run(["quarto", "render", *args], cwd=cwd, capture_output=True, text=True, env=quarto_env(env))


def run_xaireport(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None):
    """``python -m xaireport ARGS`` in a subprocess, with its stdout and stderr captured as text."""
    return subprocess.run([sys.executable, "-m", "xaireport", *args], capture_output=True, text=True, cwd=cwd, env=env)


def terminal_ctrl_c() -> None:
    """``preexec_fn`` for a command a test interrupts: Ctrl-C as at a terminal. A runner that starts the tests in the
    background (``cmd &`` in a script, as CI may) hands its children SIGINT ignored, and Python then installs no
    KeyboardInterrupt, so the signal would be lost."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
