"""Where the work runs: in this process, or on a Ray cluster (issue 36).

The result cache is content-addressed (a key says everything a result depends on), so work computed on any machine
that writes the same cache folder is the result a render reads: a cluster fills the cache, ``quarto render`` only
reads it. Two uses:

* :func:`run_tasks` runs ``xaireport precompute``'s :class:`~xaireport.results.precompute.Task` list: serially, or on
  Ray actors that each build the session (settings, classifier) once and then take task after task. An actor killed
  mid-task is restarted and its task retried by Ray (``max_restarts``, ``max_task_retries``): every output is written
  atomically, so a retried task leaves no truncated or duplicate file. With GPUs in the cluster each actor takes one.
* :func:`explain_folder` is ``xaireport explain --engine ray``: a Ray Data pipeline over the file list — read in
  blocks, ``map_batches`` with a callable class that holds the classifier — writing each image's files as the serial
  command does, so memory stays flat in the number of images.

Ray is an optional dependency (``pip install -e ".[ray]"``); without it ``--engine ray`` is one line naming the extra.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xaireport.core.errors import UserError

if TYPE_CHECKING:
    from xaireport.results.precompute import Task
    from xaireport.session import Session
    from xaireport.settings import Settings

ENGINES = ("local", "ray")
RAY_EXTRA = 'pip install -e ".[ray]"'
#: How often Ray retries a task whose worker died, and restarts the worker.
RETRIES = 3


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError(f"--engine ray needs Ray, an optional extra: install it with `{RAY_EXTRA}`") from None
    return ray


#: Seconds to wait for a cluster's port to answer (Ray itself retries an unreachable address for minutes).
CONNECT_TIMEOUT = 10


def _check_reachable(address: str) -> None:
    """A ``host:port`` or ``ray://host:port`` address whose port does not accept a connection: one line naming it."""
    import socket

    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", "local" or a form Ray resolves itself
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise UserError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc} (is `ray start --head` running there, "
            "and is the port open?)"
        ) from None


def connect(address: str | None) -> Any:
    """Ray, connected: to the cluster at ``address`` (``ray start --head`` printed it; ``auto``: the one on this
    machine), or to a new local one with this machine's cores. An unreachable address is one line naming it."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    if address:
        _check_reachable(address)
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(include_dashboard=False, **kwargs)
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError or its own errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot reach the Ray cluster at {address or 'a new local cluster'}: {first}") from None
    return ray


class _SessionActor:
    """One Ray worker: the session built once (plug-ins imported, classifier loaded on first use)."""

    def __init__(self, settings: Settings):
        from xaireport.methods.registry import load_plugins
        from xaireport.session import Session

        load_plugins(list(settings.plugins))
        self.session = Session(settings)

    def run(self, task: Task) -> str:
        task.run(self.session)
        return task.name


def workers(ray: Any, tasks: int) -> tuple[int, dict[str, float]]:
    """How many actors, and each one's resources: one GPU each when the cluster has GPUs, else one CPU each."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return max(1, min(tasks, gpus)), {"num_gpus": 1, "num_cpus": 1}
    return max(1, min(tasks, int(resources.get("CPU", 1)))), {"num_cpus": 1}


def run_tasks(tasks: list[Task], session: Session, engine: str, address: str | None = None) -> Iterator[str]:
    """Run ``tasks`` (independent of each other) here or on Ray, yielding each one's name as it finishes."""
    if engine == "local":
        for t in tasks:
            t.run(session)
            yield t.name
        return
    if not tasks:
        return
    ray = connect(address)
    from ray.util import ActorPool

    n, resources = workers(ray, len(tasks))
    actor = ray.remote(max_restarts=-1, max_task_retries=RETRIES, **resources)(_SessionActor)
    actors = [actor.remote(session.settings) for _ in range(n)]
    pool = ActorPool(actors)
    try:
        yield from pool.map_unordered(lambda a, t: a.run.remote(t), tasks)
    finally:
        for a in actors:
            ray.kill(a)


def cancel(roots: Iterable[Path], since: float) -> None:
    """After Ctrl-C: disconnect from Ray (the job's workers are killed with it), then delete the temporary files of
    the writes they interrupted under each of ``roots``."""
    import sys

    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
        time.sleep(1)  # a worker on this machine may still be between its write and its exit
    for root in roots:
        remove_temporaries(root, since)


def remove_temporaries(root: Path, since: float) -> int:
    """Delete the atomic writes' temporary files (``.<name>.*.tmp``) under ``root`` created since ``since`` (a run
    that was interrupted, whose workers were killed before renaming them); returns how many."""
    removed = 0
    if not root.is_dir():
        return 0
    for p in root.rglob(".*.tmp"):
        try:
            if p.is_file() and p.stat().st_mtime >= since - 1:
                p.unlink()
                removed += 1
        except OSError:
            continue
    return removed


class _ExplainBatch:
    """Ray Data's callable class for ``explain``: the session (and its classifier) built once per worker; each batch
    of image paths explained and written as :func:`xaireport.cli.explain.write_explanations` writes them."""

    def __init__(self, settings: Settings, methods: list[str], out: str, target: int | None):
        from xaireport.methods.registry import load_plugins
        from xaireport.session import Session

        load_plugins(list(settings.plugins))
        self.session = Session(settings)
        self.methods = [self.session.method(m) for m in methods]
        self.out, self.target = Path(out), target

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        from xaireport.images import load_image
        from xaireport.methods.display import displayed
        from xaireport.outputs import write_map_outputs
        from xaireport.results.explanations import explain

        s = self.session.settings
        clf = self.session.classifier()
        rows: dict[str, list[Any]] = {"image": [], "class_index": [], "class_name": [], "score": []}
        for path in batch["path"]:
            image = load_image(path, s.images.max_megapixels)
            crop = clf.crop(image.array)
            first = None
            for m in self.methods:
                r = explain(self.session, image, m, self.target)
                write_map_outputs(self.out, image.stem, crop, r, displayed(r, m, s.display.outlier_percent))
                first = first or r
            assert first is not None
            rows["image"].append(image.name)
            rows["class_index"].append(first.class_index)
            rows["class_name"].append(first.class_name)
            rows["score"].append(first.score)
        return rows


def explain_folder(
    paths: Iterable[Path],
    settings: Settings,
    methods: list[str],
    out: Path,
    target: int | None,
    address: str | None,
) -> Iterator[tuple[str, int, str, float]]:
    """``xaireport explain`` as a Ray Data pipeline, yielding each image's prediction row (image, class index, class
    name, score) as its files are written (in completion order)."""
    ray = connect(address)
    names = [str(p) for p in paths]
    n, resources = workers(ray, len(names))
    ds = ray.data.from_items([{"path": p} for p in names])
    rows = ds.map_batches(
        _ExplainBatch,
        fn_constructor_kwargs={"settings": settings, "methods": methods, "out": str(out), "target": target},
        batch_size=1,
        concurrency=n,
        max_task_retries=RETRIES,
        **resources,
    )
    for r in rows.iter_rows():
        yield (str(r["image"]), int(r["class_index"]), str(r["class_name"]), float(r["score"]))


def elapsed(start: float) -> str:
    return f"{time.time() - start:.0f} s"
