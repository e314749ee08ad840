"""The CLI's subcommands that produce results (``cams``, ``lime``, ``compare``, ``dissect``).

Each validates all its input (images, model, weights, options) before computing anything, and writes its
outputs only after that.
"""
from __future__ import annotations

import argparse

from tqdm.auto import tqdm

from .cli import add_common, command, load_inputs, prepare_out, settings_from
from .errors import UserError


def _configure_cams(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--methods", default=None, help="comma-separated: gradcam,ablationcam,scorecam (default: all)")
    p.add_argument("--target", type=int, default=None, help="class index to explain (default: top-1)")


@command("cams", "Grad-CAM, AblationCAM and ScoreCAM maps, overlays and masks for a folder of images",
         _configure_cams)
def _cams(args: argparse.Namespace) -> int:
    from .cam_report import cached_cam, write_outputs, write_predictions
    from .cams import METHODS
    from .report import Report

    settings = settings_from(args)
    methods = args.methods.split(",") if args.methods else list(METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise UserError(f"unknown method {', '.join(unknown)}: choose from {','.join(METHODS)}")
    imgs, clf = load_inputs(args, settings)
    if args.target is not None and not 0 <= args.target < len(clf.categories):
        raise UserError(f"--target {args.target} is out of range for {clf.name} ({len(clf.categories)} classes)")
    cache = Report(settings).cache
    prepare_out(args.out)
    rows = []
    for im in tqdm(imgs, desc="images", unit="image"):
        crop = clf.crop(im.array)
        for m in methods:
            bs = settings["cams.ablation_batch_size"] if m == "ablationcam" else settings["cams.batch_size"]
            res = cached_cam(cache, clf, im, m, args.target, batch_size=bs)
            write_outputs(args.out, im.stem, crop, res)
        rows.append((im.name, res.class_index, res.class_name, res.score))
    write_predictions(args.out / "predictions.csv", rows)
    print(f"wrote {len(imgs)} images × {len(methods)} methods to {args.out}")
    return 0
