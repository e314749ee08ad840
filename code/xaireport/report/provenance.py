"""What produced a render: date, git commit (and whether the tree was modified), Python and package versions,
and the device, for the home page's "This render" table, so a published copy says exactly what produced it."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path

#: The packages whose versions change the report's numbers.
PACKAGES = ("torch", "torchvision", "grad-cam", "lime", "open_clip_torch", "timm", "scikit-image")


def git_commit(project_dir: Path) -> str:
    """``<short hash>`` of HEAD, with ``(modified)`` when tracked files differ from it; or why there is none."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=project_dir, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=project_dir,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"{head} (modified)" if dirty else head


def package_versions() -> str:
    """``torch 2.14.1, torchvision 0.29.1, ...`` (``not installed`` where a package is absent)."""
    out = []
    for name in PACKAGES:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} not installed")
    return ", ".join(out)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device) -> str:
    """``cpu (<CPU model>, N cores)`` or ``cuda:0 (<GPU name>)``."""
    import os

    if str(device).split(":")[0] == "cuda":
        import torch

        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"{device} ({cpu_model()}, {os.cpu_count()} cores)"


def rows(project_dir: Path, device) -> list[tuple[str, str]]:
    """The provenance rows of the home page's table."""
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        ("rendered", now),
        ("git commit", git_commit(project_dir)),
        ("Python", platform.python_version()),
        ("packages", package_versions()),
        ("device", device_name(device)),
    ]
