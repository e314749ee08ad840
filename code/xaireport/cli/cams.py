"""``xaireport cams``: CAM maps, overlays and masks for a folder of images (chapter 2's computation)."""

from __future__ import annotations

import argparse

from xaireport.cli.options import add_common, command, prepare, session_with_methods


def _configure_cams(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument(
        "--methods",
        default=None,
        help="comma-separated CAM methods, e.g. gradcam,ablationcam,scorecam (default: the cams.methods setting; "
        "`xaireport methods` lists them)",
    )
    p.add_argument("--target", type=int, default=None, help="class index to explain (default: top-1)")


@command("cams", "CAM maps, overlays and masks for a folder of images", _configure_cams)
def _cams(args: argparse.Namespace) -> int:
    from xaireport.cli.explain import write_explanations

    session = session_with_methods(args, "cams.methods", "CAM")
    prepare(args, session, out=args.out)
    names = session.settings.cams.methods
    write_explanations(session, session.methods(names, "cams.methods"), args.out, args.target)
    print(f"wrote {len(session.images())} images × {len(names)} methods ({','.join(names)}) to {args.out}")
    return 0
