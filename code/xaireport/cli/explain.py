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
    :func:`xaireport.report.figures.displayed`), ``<image>-mask.png``, and ``OUT/predictions.csv``."""
    from xaireport.outputs import write_map_outputs, write_predictions
    from xaireport.report.figures import displayed
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


@command("explain", "maps of any registered explanation methods for a folder of images", _configure_explain)
def _explain(args: argparse.Namespace) -> int:
    names = parse_methods(args.methods) or []
    session = session_from(args)
    prepare(args, session, out=args.out)
    write_explanations(session, session.methods(names, "--methods"), args.out, args.target)
    print(f"wrote {len(session.images())} images × {len(names)} methods ({','.join(names)}) to {args.out}")
    return 0


def _configure_methods(p: argparse.ArgumentParser) -> None:
    p.add_argument("--family", default=None, help="only methods of this family (CAM, perturbation, gradient)")


@command("methods", "list the registered explanation methods (--methods accepts these names)", _configure_methods)
def _methods(args: argparse.Namespace) -> int:
    from xaireport.methods import registry

    rows = [m for m in registry.METHODS.values() if args.family in (None, m.family)]
    width = max((len(m.name) for m in rows), default=4)
    lw = max((len(m.label) for m in rows), default=5)
    print(f"{'name':{width}}  {'label':{lw}}  {'family':12}  {'supports':9}  cost")
    for m in rows:
        print(f"{m.name:{width}}  {m.label:{lw}}  {m.family:12}  {','.join(sorted(m.supports)):9}  {m.cost}")
    print(f"# {len(rows)} methods")
    return 0
