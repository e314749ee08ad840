"""``xaireport precompute``: every cached result a render of a profile needs, computed before the render — here or
on a Ray cluster (:mod:`xaireport.results.precompute`, :mod:`xaireport.engine`)."""

from __future__ import annotations

import argparse
import time

from xaireport.cli.options import add_common, command, prepare, session_from


def add_engine_options(p: argparse.ArgumentParser) -> None:
    from xaireport.engine import ENGINES

    p.add_argument("--engine", choices=ENGINES, default="local", help="where the work runs (default: here)")
    p.add_argument(
        "--address",
        default=None,
        help="the Ray cluster's address (`ray start --head` prints it; `auto`: the one on this machine); default: "
        "a new local cluster with this machine's cores",
    )


def _configure(p: argparse.ArgumentParser) -> None:
    add_common(p, out=False)
    add_engine_options(p)


@command(
    "precompute",
    "compute every cached result the render of a profile needs (here or on a Ray cluster), so that the render "
    "only reads the cache",
    _configure,
)
def _precompute(args: argparse.Namespace) -> int:
    from xaireport.core import progress
    from xaireport.engine import cancel, run_tasks
    from xaireport.results.precompute import finish, plan_stage

    if args.engine == "ray":
        from xaireport.engine import connect

        connect(args.address)  # an unreachable cluster fails before any work
    session = session_from(args)
    prepare(args, session)
    cache = session.cache.root
    start = time.time()
    before = sum(1 for _ in cache.rglob("*.npz")) if cache.is_dir() else 0
    try:
        for stage in (1, 2):
            tasks = plan_stage(session, stage, costs=args.engine == "local")
            todo = [t for t in tasks if not t.done(cache)]
            progress.note(
                f"stage {stage}: {len(tasks)} tasks, {len(tasks) - len(todo)} already cached, {len(todo)} to run "
                f"({args.engine})"
            )
            done = run_tasks(todo, session, args.engine, args.address)
            for _ in progress.bar(done, desc=f"stage {stage}", unit="task", total=len(todo)):
                pass
        finish(session, progress.note)
    except KeyboardInterrupt:
        cancel([cache], start)
        raise
    after = sum(1 for _ in cache.rglob("*.npz"))
    print(
        f"precomputed the {session.settings.profile_name} profile with the {args.engine} engine in "
        f"{time.time() - start:.0f} s: {after - before} new cache entries, {after} in all, in {cache}"
    )
    return 0
