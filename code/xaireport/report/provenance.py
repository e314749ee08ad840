"""What produced a render: date, git commit (and whether the tree was modified), Python and package versions,
and the device, for the home page's "This render" table, so a published copy says exactly what produced it."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path

#: The packages whose versions change the report's numbers.
PACKAGES = ("torch", "torchvision", "grad-cam", "lime", "open_clip_torch", "timm", "scikit-image", "onnxruntime")


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


def render_started(project_dir: Path) -> float | None:
    """When this render started (Unix seconds, written by the pre-render step into ``_variables.yml``)."""
    import yaml

    try:
        data = yaml.safe_load((project_dir / "_variables.yml").read_text(encoding="utf-8"))
        return float(data["render"]["started"])
    except (OSError, TypeError, KeyError, ValueError, yaml.YAMLError):
        return None


def cache_use(cache_dir: Path, started: float | None, now: float | None = None) -> str:
    """How much of this render was computed: the result-cache entries written since it started, against all
    entries; and the time so far."""
    import time

    if started is None:
        return "unknown (no render start time: rendered outside `quarto render` of the project)"
    entries = [p for p in Path(cache_dir).rglob("*.npz")] if Path(cache_dir).is_dir() else []
    new = sum(1 for p in entries if p.stat().st_mtime >= started)
    minutes = ((now or time.time()) - started) / 60
    if new == 0:
        what = f"every result read from the cache ({len(entries)} entries), nothing computed"
    else:
        what = f"{new} results computed, the others read from the cache ({len(entries)} entries in all)"
    return f"{what}; {minutes:.1f} min from the start of the render to this page"


def rows(project_dir: Path, device, cache_dir: Path | None = None) -> list[tuple[str, str]]:
    """The provenance rows of the home page's table (with ``cache_dir``: how much of the render was computed)."""
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        ("rendered", now),
        ("git commit", git_commit(project_dir)),
        ("Python", platform.python_version()),
        ("packages", package_versions()),
        ("device", device_name(device)),
    ]
    if cache_dir is not None:
        out.append(("result cache", cache_use(cache_dir, render_started(project_dir))))
    return out
