"""``xaireport explain``: maps of any registered methods for a folder of images; and ``xaireport methods``, the
registry as a table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from xaireport.cli.options import add_common, command, parse_methods, prepare, session_from

if TYPE_CHECKING:
    from xaireport.methods.registry import Method
    from xaireport.session import Session


def write_explanations(session: Session, methods: list[Method], out: Path, target: int | None) -> None:
    """Every method on every image of the session (cached): ``OUT/<method>/<image>.npy`` (the map at the model's
    input resolution, float32), ``<image>.png`` (overlay of the map as the report draws it:
    :func:`xaireport.methods.display.displayed`), ``<image>-mask.png``, and ``OUT/predictions.csv``."""
    from xaireport.methods.display import displayed
    from xaireport.outputs import write_map_outputs, write_predictions
    from xaireport.results.explanations import explain_images

    records = {m.name: m for m in methods}
    percent = session.settings.display.outlier_percent
    rows = []
    for e in explain_images(session, methods, target=target, desc="images"):
        for name, r in e.results.items():
            write_map_outputs(out, e.image.stem, e.crop, r, displayed(r, records[name], percent))
        p = e.prediction
        rows.append((e.image.name, p.class_index, p.class_name, p.score))
    write_predictions(out / "predictions.csv", rows)


def _configure_explain(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument(
        "--methods", required=True, help="comma-separated registered methods (`xaireport methods` lists them)"
    )
    p.add_argument("--target", type=int, default=None, help="class index to explain (default: top-1)")
    from xaireport.cli.precompute import add_engine_options

    add_engine_options(p)


@command("explain", "maps of any registered explanation methods for a folder of images", _configure_explain)
def _explain(args: argparse.Namespace) -> int:
    session = session_from(args)  # first: the settings' plug-ins may register the methods named
    names = parse_methods(args.methods) or []
    methods = session.methods(names, "--methods")
    if args.engine == "ray":
        import time

        from xaireport.core import progress
        from xaireport.engine import cancel, connect, explain_folder
        from xaireport.outputs import write_predictions

        connect(args.address)  # an unreachable cluster fails before any work
        prepare(args, session, out=args.out)
        images, start = session.images(), time.time()
        try:
            done = explain_folder([im.path for im in images], session.settings, names, args.out, args.target,
                                  args.address)  # fmt: skip
            found = {row[0]: row for row in progress.bar(done, desc="images", unit="image", total=len(images))}
        except KeyboardInterrupt:
            cancel([args.out, session.cache.root], start)
            raise
        write_predictions(args.out / "predictions.csv", [found[im.name] for im in images])
    else:
        prepare(args, session, out=args.out)
        write_explanations(session, methods, args.out, args.target)
    print(f"wrote {len(session.images())} images × {len(names)} methods ({','.join(names)}) to {args.out}")
    return 0


def _configure_methods(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", type=Path, help="the report's folder, whose plugins setting adds methods")
    p.add_argument("--profile", help="Quarto profile(s) whose plugins setting to read")
    from xaireport.methods.registry import FAMILIES

    p.add_argument("--family", default=None, choices=list(FAMILIES), help="only methods of this family")
    p.add_argument(
        "--keys",
        metavar="NAME",
        default=None,
        help="instead of the list: the package modules whose code is in the cache key of method NAME's "
        "explanations, and those of the classifier.model's builder (editing any other recomputes nothing of them)",
    )


@command("methods", "list the registered explanation methods (--methods accepts these names)", _configure_methods)
def _methods(args: argparse.Namespace) -> int:
    from xaireport.cli.options import project_dir
    from xaireport.methods import registry
    from xaireport.settings import read_plugins

    if args.keys is not None:
        return _keys(args)
    plugins = read_plugins(args.profile, project_dir(args))  # only the plugins: listing works while a setting is wrong
    rows = [m for m in registry.METHODS.values() if args.family in (None, m.family)]
    width = max((len(m.name) for m in rows), default=4)
    lw = max((len(m.label) for m in rows), default=5)
    print(f"{'name':{width}}  {'label':{lw}}  {'family':12}  {'supports':9}  cost")
    for m in rows:
        print(f"{m.name:{width}}  {m.label:{lw}}  {m.family:12}  {','.join(sorted(m.supports)):9}  {m.cost}")
    print(f"# {len(rows)} methods" + (f" (plugins: {', '.join(plugins)})" if plugins else ""))
    return 0


def _keys(args: argparse.Namespace) -> int:
    """``xaireport methods --keys NAME``: the code in the key of NAME's explanations with the settings' classifier."""
    from xaireport.cli.options import settings_from
    from xaireport.core.codegraph import listing
    from xaireport.methods import registry
    from xaireport.models.registry import builder_module
    from xaireport.results.explanations import code_modules

    settings = settings_from(args)  # the plug-ins, and the classifier.model whose builder counts
    method = registry.get(args.keys, "--keys")
    model = settings.classifier.model
    ours = listing(*code_modules(method))
    print(f"# {method.name}: {len(ours)} modules (the explanation and the method)")
    print("\n".join(ours))
    family = builder_module(model)
    builder = [m for m in listing(family) if m not in ours] if family else []
    print(f"# {model} (classifier.model): {len(builder)} more modules (its builder)")
    if builder:
        print("\n".join(builder))
    return 0
