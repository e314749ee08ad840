"""The report's computations on Ray (``engine.py``, ``results/precompute.py``; issue 36), on a local Ray cluster:
precompute through Ray writes the entries the serial path writes, after which the chapters compute nothing;
``explain --engine ray`` writes the serial command's files, also when a worker is killed mid-run; without a reachable
cluster or without Ray, one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import run_xaireport, terminal_ctrl_c

ray = pytest.importorskip("ray", reason="make setup installs the ray extra (pip install -e '.[ray]')")

#: Metadata that records wall time, different on every run (the values of chapter 6's cost measures too).
TIMING = {"seconds"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A local Ray cluster with two CPUs, its address for the commands started as subprocesses."""
    temp = tmp_path_factory.mktemp("ray")
    ctx = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=str(temp))
    yield ctx.address_info["address"]
    ray.shutdown()


def _env(overrides: dict) -> dict[str, str]:
    return {**os.environ, "XAIREPORT_OVERRIDES": json.dumps(overrides), "TQDM_DISABLE": "1"}


SMALL = {
    "sanity.methods": ["gradcam", "lime"],
    "evaluation.methods": ["gradcam", "hirescam", "saliency"],
    "dissection.enabled": False,
}


def _entries(cache: Path) -> dict[str, Path]:
    return {str(p.relative_to(cache)): p for p in cache.rglob("*.npz") if p.parent.name != "probe"}


def _same_entry(a: Path, b: Path) -> bool:
    """Equal arrays and equal metadata, wall times aside."""
    with np.load(a) as x, np.load(b) as y:
        if sorted(x.files) != sorted(y.files):
            return False
        for k in x.files:
            if k == "__meta__":
                ma, mb = json.loads(str(x[k])), json.loads(str(y[k]))
                for t in TIMING:
                    ma.pop(t, None), mb.pop(t, None)
                if ma.keys() != mb.keys():
                    return False
                for key in ma:  # a float64 sum's last bits follow the thread count (Ray workers take one core)
                    same = np.isclose(ma[key], mb[key], rtol=1e-12, atol=0) if isinstance(ma[key], float) else None
                    if not (same if same is not None else ma[key] == mb[key]):
                        return False
            elif not np.array_equal(x[k], y[k], equal_nan=True):
                return False
    return True


@pytest.mark.slow
def test_precompute_through_ray_writes_the_serial_entries_and_the_chapters_then_compute_nothing(
    cluster, root, tmp_path
):
    serial, remote = tmp_path / "serial", tmp_path / "remote"
    for cache, engine in ((serial, "local"), (remote, "ray")):
        args = ["precompute", "--profile", "smoke", "--engine", engine]
        if engine == "ray":
            args += ["--address", cluster]
        r = subprocess.run(
            [sys.executable, "-m", "xaireport", *args],
            cwd=root,
            env=_env({**SMALL, "paths.cache": str(cache)}),
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr[-3000:]
        assert f"with the {engine} engine" in r.stdout and "new cache entries" in r.stdout
    a, b = _entries(serial), _entries(remote)
    assert set(a) == set(b) and len(a) > 30
    differ = [k for k in a if not _same_entry(a[k], b[k])]
    costs = [k for k in differ if k.startswith("evaluation/")]
    # only chapter 6's cost measures (wall time, memory) may differ between two runs
    assert set(differ) == set(costs), differ
    assert len(costs) <= 2 * 3 * 2  # seconds and peak MB, per evaluated method and image
    # the chapters, executed as Quarto would, find everything: no entry is written
    import qmd

    before = set(_entries(remote))
    os.environ["XAIREPORT_OVERRIDES"] = json.dumps({**SMALL, "paths.cache": str(remote)})
    try:
        for page in ("chapters/cam-methods.qmd", "chapters/lime.qmd", "chapters/sanity-checks.qmd",
                     "chapters/method-evaluation.qmd", "index.qmd"):  # fmt: skip
            nb = qmd.execute(root / page, root, profile="smoke")
            assert "Traceback" not in qmd.outputs_text(nb), page
    finally:
        del os.environ["XAIREPORT_OVERRIDES"]
    assert set(_entries(remote)) - before == set()


def _photos(root: Path, folder: Path, n: int) -> list[str]:
    from PIL import Image

    folder.mkdir()
    sources = sorted(p for p in (root / "data/images").iterdir() if p.suffix in (".png", ".jpg"))
    names = []
    for i in range(n):
        with Image.open(sources[i % len(sources)]) as im:
            w, h = im.size
            box = (i * 7 % max(1, w - 200), i * 5 % max(1, h - 200))
            im.convert("RGB").crop((*box, box[0] + 200, box[1] + 200)).save(folder / f"photo{i:02d}.png")
        names.append(f"photo{i:02d}.png")
    return names


def _outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_explain_through_ray_writes_the_serial_files_even_when_a_worker_is_killed(cluster, root, tmp_path):
    images = tmp_path / "images"
    names = _photos(root, images, 20)
    common = ["explain", "--profile", "offline", "--methods", "gradcam,saliency", "--images", str(images)]
    serial = run_xaireport([*common, "--out", str(tmp_path / "serial")], cwd=root,
                           env=_env({"paths.cache": str(tmp_path / "cache-serial")}))  # fmt: skip
    assert serial.returncode == 0, serial.stderr
    remote_out = tmp_path / "remote"
    proc = subprocess.Popen(
        [sys.executable, "-m", "xaireport", *common, "--out", str(remote_out), "--engine", "ray", "--address", cluster],
        cwd=root,
        env=_env({"paths.cache": str(tmp_path / "cache-remote")}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = _kill_one_worker_once_files_appear(remote_out / "gradcam", proc)
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr[-3000:]
    assert killed, "no worker process was found to kill"
    a, b = _outputs(tmp_path / "serial"), _outputs(remote_out)
    assert sorted(a) == sorted(b) and len(a) == 20 * 2 * 3 + 1  # .npy, .png and -mask.png per method, the CSV
    assert [k for k in a if a[k] != b[k]] == []
    assert not list(remote_out.rglob("*.tmp")) and len(names) == 20 and "wrote 20 images" in stdout


def _kill_one_worker_once_files_appear(folder: Path, proc: subprocess.Popen) -> bool:
    """SIGKILL one Ray worker that explains images, once the first files exist."""
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if folder.is_dir() and any(folder.glob("*.npy")):
            out = subprocess.run(["pgrep", "-f", "ray::.*(ExplainBatch|MapBatches|MapWorker)"], capture_output=True,
                                 text=True)  # fmt: skip
            pids = [int(p) for p in out.stdout.split()]
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_ctrl_c_cancels_a_ray_run_with_status_130_and_no_temporary_file(cluster, root, tmp_path):
    images = tmp_path / "images"
    _photos(root, images, 20)
    out, cache = tmp_path / "out", tmp_path / "cache"
    proc = subprocess.Popen(
        [sys.executable, "-m", "xaireport", "explain", "--profile", "offline", "--methods", "gradcam,saliency",
         "--images", str(images), "--out", str(out), "--engine", "ray", "--address", cluster],
        cwd=root,
        env=_env({"paths.cache": str(cache)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=terminal_ctrl_c,
    )  # fmt: skip
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and not any((out / "gradcam").glob("*.npy")):
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "wrote 20 images" not in stdout
    assert len(list((out / "gradcam").glob("*.npy"))) < 20  # it stopped before the end
    time.sleep(2)  # the cancelled job's workers have exited: nothing is left half-written
    assert list(out.rglob("*.tmp")) + list(cache.rglob("*.tmp")) == []


def test_an_unreachable_cluster_is_one_line_naming_its_address(root, tmp_path):
    r = run_xaireport(
        ["precompute", "--profile", "smoke", "--engine", "ray", "--address", "127.0.0.1:1"],
        cwd=root,
        env=_env({"paths.cache": str(tmp_path / "cache")}),
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1  # before any work: no progress line either


def test_without_ray_the_engine_names_the_extra(monkeypatch):
    from xaireport.core.errors import UserError
    from xaireport.engine import RAY_EXTRA, require_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(UserError, match="optional extra") as e:
        require_ray()
    assert RAY_EXTRA in str(e.value) and "\n" not in str(e.value)  # one line, naming the command that installs it
