"""Quarto pre-render step: write ``_variables.yml`` (git-ignored) with the render's date and profile, which the
site's page footer shows through ``{{< var render.date >}}`` and ``{{< var render.profile >}}``, and its start
time (``render.started``, Unix seconds), from which the home page counts the results this render computed.

It also checks, first, that the Python Quarto runs it with is one that can execute the chapters: Quarto runs the
pre-render step with the same Python it then starts the chapters' Jupyter kernels with (``QUARTO_PYTHON``, else
the first ``python3`` on ``PATH``). A Python without Jupyter or without the package stops the render here, with one
message naming that Python and the one line that fixes it, instead of a traceback from inside Quarto (issue 38).

Kept free of the rest of the package (the standard library, then ``yaml``), since Quarto runs it as a plain script.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import os
import sys
from pathlib import Path

#: What the chapters need in Quarto's Python: Jupyter's kernel and notebook runner, and the report's package.
NEEDED = {
    "nbformat": "Jupyter",
    "nbclient": "Jupyter",
    "jupyter_client": "Jupyter",
    "ipykernel": "Jupyter",
    "yaml": "PyYAML",
    "xaireport": "xaireport",
}


def missing_modules(find_spec=importlib.util.find_spec) -> list[str]:
    """The modules of :data:`NEEDED` this Python cannot import (``find_spec``: injectable for tests)."""
    return [name for name in NEEDED if find_spec(name) is None]


def python_problem(project: Path, missing: list[str], executable: str = sys.executable) -> str:
    """The message for a render started with a Python that lacks ``missing`` (empty when nothing is missing)."""
    if not missing:
        return ""
    what = ", ".join(sorted({NEEDED[m] for m in missing}))
    venv = project / ".venv" / "bin" / "python"
    fix = (
        f"export QUARTO_PYTHON={venv}   (or run `make report`, which sets it)"
        if venv.exists()
        else "make setup && make report   (make setup creates .venv; make report tells Quarto to use it)"
    )
    return (
        f"xaireport: Quarto is running the chapters with {executable}, which has no {what} "
        f"(missing: {', '.join(missing)}). Fix: {fix}"
    )


def variables(profile: str, now: _dt.datetime | None = None) -> dict:
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return {
        "render": {
            "date": now.strftime("%Y-%m-%d %H:%M UTC"),
            "profile": profile or "default",
            "started": int(now.timestamp()),
        }
    }


def main() -> int:
    project = Path(os.environ.get("QUARTO_PROJECT_DIR", ".")).resolve()
    problem = python_problem(project, missing_modules())
    if problem:
        print(problem, file=sys.stderr)
        return 1
    import yaml

    data = variables(os.environ.get("QUARTO_PROFILE", ""))
    tmp = project / "_variables.yml.tmp"
    tmp.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, project / "_variables.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
