"""Quarto pre-render step: write ``_variables.yml`` (git-ignored) with the render's date and profile, which the
site's page footer shows through ``{{< var render.date >}}`` and ``{{< var render.profile >}}``, and its start
time (``render.started``, Unix seconds), from which the home page counts the results this render computed.

Kept free of the rest of the package (only ``yaml``), since Quarto runs it as a plain script.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
from pathlib import Path

import yaml


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
    data = variables(os.environ.get("QUARTO_PROFILE", ""))
    tmp = project / "_variables.yml.tmp"
    tmp.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, project / "_variables.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
