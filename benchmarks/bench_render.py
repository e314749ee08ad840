"""Cold and warm renders, page by page, and where the time goes.

For each page of ``project.render`` (the book excluded): a **cold** render (an empty result cache, through
``$XAIREPORT_OVERRIDES``; the project's own cache is not touched) and a **warm** one (the same cache again), with
``quarto render PAGE --profile P`` when Quarto is on PATH (``--harness`` forces the test suite's nbclient harness,
which executes the page's cells in one kernel without Quarto). Then the fixed costs a warm page pays: starting
Python and importing the report's package, importing torch, and loading the profile's classifier.

With ``--site``: the whole project instead (``quarto render --profile P``: every page in both formats, the book
and the post-render step), cold once, then warm twice — with Quarto's defaults (a new kernel per page and
format) and with ``--execute-daemon 30`` (one kernel per page for both formats, as ``make report`` runs it).

Usage: ``python benchmarks/bench_render.py [--profile smoke] [--pages index.qmd,chapters/lime.qmd] [--harness]
[--site]``. Prints one line per page (or per site render): cold s, warm s, and the warm/cold ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pages() -> list[str]:
    import yaml

    from xaireport.report.combine_pdf import BOOK

    config = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    return [p for p in config["project"]["render"] if p != BOOK]


def timed_run(args: list[str], cache: Path) -> float:
    """Seconds ``args`` takes with the result cache at ``cache`` (the project's own cache is not touched)."""
    env = {**os.environ, "XAIREPORT_OVERRIDES": json.dumps({"paths.cache": str(cache)}), "TQDM_DISABLE": "1"}
    env["QUARTO_PYTHON"] = sys.executable
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def render(page: str, profile: str, cache: Path, harness: bool) -> float:
    if harness:
        code = (
            "import sys; sys.path.insert(0, 'tests'); import qmd; from pathlib import Path; "
            f"qmd.execute(Path({page!r}).resolve(), Path('.').resolve(), profile={profile!r})"
        )
        return timed_run([sys.executable, "-c", code], cache)
    return timed_run(["quarto", "render", page, "--profile", profile], cache)


def render_site(profile: str, cache: Path, daemon: bool) -> float:
    return timed_run(["quarto", "render", "--profile", profile] + (["--execute-daemon", "30"] if daemon else []), cache)


def fixed_costs(profile: str) -> dict[str, float]:
    """Seconds for: Python + the report package without torch; + torch; + loading the profile's classifier."""

    def timed(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - start

    base = timed("import xaireport.report.tables, xaireport.settings")
    warm_page = timed("import xaireport.report.cam_methods, xaireport.report.lime, xaireport.report.sanity_checks")
    torch_ = timed("import xaireport.report.tables, torch, torchvision")
    model = timed(
        "from xaireport.settings import load; from xaireport import models; "
        f"s = load(profile={profile!r}); models.load(s.classifier.model, s.path(s.classifier.weights), 'cpu')"
    )
    return {
        "python + package": base,
        "a warm page's imports (no torch)": warm_page,
        "+ torch": torch_ - base,
        "+ classifier load": model - torch_,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="smoke")
    p.add_argument("--pages", help="comma-separated pages (default: every page of project.render but the book)")
    p.add_argument("--harness", action="store_true", help="execute the pages with nbclient instead of Quarto")
    p.add_argument("--site", action="store_true", help="render the whole project (needs Quarto on PATH)")
    args = p.parse_args()
    if args.site:
        if shutil.which("quarto") is None:
            p.error("--site needs quarto on PATH")
        with tempfile.TemporaryDirectory() as d:
            cache = Path(d) / "cache"
            print(f"# profile {args.profile}, whole site, quarto render, {os.cpu_count()} CPUs")
            cold = render_site(args.profile, cache, daemon=True)
            warm = render_site(args.profile, cache, daemon=False)
            warm_daemon = render_site(args.profile, cache, daemon=True)
        print(f"cold (--execute-daemon 30) {cold:.1f} s; warm, a kernel per page and format {warm:.1f} s; "
              f"warm, --execute-daemon 30 {warm_daemon:.1f} s")  # fmt: skip
        return
    harness = args.harness or shutil.which("quarto") is None
    chosen = args.pages.split(",") if args.pages else pages()
    print(f"# profile {args.profile}, {'nbclient harness' if harness else 'quarto render'}, {os.cpu_count()} CPUs")
    print(f"{'page':40s}{'cold s':>9s}{'warm s':>9s}{'warm/cold':>11s}")
    totals = [0.0, 0.0]
    with tempfile.TemporaryDirectory() as d:
        cache = Path(d) / "cache"
        for page in chosen:
            cold = render(page, args.profile, cache, harness)
            warm = render(page, args.profile, cache, harness)
            totals[0] += cold
            totals[1] += warm
            print(f"{page:40s}{cold:9.1f}{warm:9.1f}{warm / cold:10.2f}x", flush=True)
    print(f"{'total':40s}{totals[0]:9.1f}{totals[1]:9.1f}{totals[1] / totals[0]:10.2f}x")
    costs = fixed_costs(args.profile)
    print("# fixed costs of one kernel (seconds): " + ", ".join(f"{k} {v:.1f}" for k, v in costs.items()))


if __name__ == "__main__":
    main()
