"""Helpers shared by the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_xaireport(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None):
    """``python -m xaireport ARGS`` in a subprocess, with its stdout and stderr captured as text."""
    return subprocess.run([sys.executable, "-m", "xaireport", *args], capture_output=True, text=True, cwd=cwd, env=env)
