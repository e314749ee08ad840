"""Ray against the serial engine on this machine (issue 36): ``xaireport explain`` images/s serially and through Ray
with 1 and 2 workers, and the cache-fill time of a profile's ``xaireport precompute`` serially and through Ray; then,
on paper, what ``explain`` over 10⁵ images would take on N workers, from the per-image cost measured here.

Every run is a fresh ``xaireport`` process with its own empty cache and output folder, so each number includes what
a user pays: the process start, the model load (once per Ray worker), Ray's start-up (the local cluster is started
once, before the timings, as a user's cluster would already run).

Usage: ``python benchmarks/bench_ray.py [--images 20] [--methods gradcam,saliency] [--profile smoke]
[--skip-precompute]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def photos(folder: Path, n: int) -> None:
    """``n`` distinct 256 × 256 crops of the report's images (distinct bytes: no cache entry is shared)."""
    from PIL import Image

    folder.mkdir(parents=True)
    sources = sorted(p for p in (ROOT / "data/images").iterdir() if p.suffix in (".png", ".jpg"))
    for i in range(n):
        with Image.open(sources[i % len(sources)]) as im:
            w, h = im.size
            box = (i * 7 % max(1, w - 256), i * 5 % max(1, h - 256))
            im.convert("RGB").crop((*box, box[0] + 256, box[1] + 256)).save(folder / f"photo{i:05d}.png")


def xaireport(args: list[str], cache: Path) -> float:
    env = {**os.environ, "XAIREPORT_OVERRIDES": json.dumps({"paths.cache": str(cache)}), "TQDM_DISABLE": "1"}
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "xaireport", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if r.returncode:
        sys.exit(f"xaireport {' '.join(args)} failed:\n{r.stderr[-2000:]}")
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=20)
    p.add_argument("--methods", default="gradcam,saliency")
    p.add_argument("--profile", default="smoke", help="the profile whose cache fill is timed (offline: ~25 min each)")
    p.add_argument("--skip-precompute", action="store_true")
    args = p.parse_args()
    from xaireport.engine import require_ray

    ray = require_ray()  # one line naming the extra when Ray is not installed

    cores = os.cpu_count() or 1
    print(f"this machine: {cores} cores; explain --profile offline --methods {args.methods} on {args.images} images")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        photos(work / "images", args.images)
        explain = ["explain", "--profile", "offline", "--methods", args.methods, "--images", str(work / "images")]
        rows: dict[str, float] = {}
        rows["serial"] = xaireport([*explain, "--out", str(work / "o-serial")], work / "c-serial")
        for workers in (1, 2):
            ctx = ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            address = ctx.address_info["address"]
            rows[f"ray, {workers} worker{'s' * (workers > 1)}"] = xaireport(
                [*explain, "--out", str(work / f"o-ray{workers}"), "--engine", "ray", "--address", address],
                work / f"c-ray{workers}",
            )
            ray.shutdown()
        base = rows["serial"]
        print(f"{'explain':24s} {'seconds':>8s} {'images/s':>9s} {'vs serial':>10s}")
        for k, v in rows.items():
            print(f"{k:24s} {v:8.1f} {args.images / v:9.2f} {base / v:9.2f}×")
        per_image = rows["ray, 1 worker"] / args.images  # one worker's cost per image, start-up included
        print(
            f"on paper, explain over 100,000 images at this machine's {per_image:.2f} s per image per worker, "
            "assuming linear scaling (each worker a core like these; shared file system not the bottleneck):"
        )
        for n in (2, 16, 64, 256):
            print(f"  {n:4d} CPU workers: {100_000 * per_image / n / 3600:8.1f} h")
        if not args.skip_precompute:
            fill: dict[str, float] = {}
            fill["serial"] = xaireport(["precompute", "--profile", args.profile], work / "p-serial")
            ctx = ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
            fill[f"ray, {cores} workers"] = xaireport(
                ["precompute", "--profile", args.profile, "--engine", "ray", "--address", ctx.address_info["address"]],
                work / "p-ray",
            )
            ray.shutdown()
            print(f"cache fill of the {args.profile} profile (xaireport precompute, empty cache):")
            for k, v in fill.items():
                print(f"  {k:22s} {v:8.1f} s  {fill['serial'] / v:5.2f}× the serial speed")


if __name__ == "__main__":
    main()
