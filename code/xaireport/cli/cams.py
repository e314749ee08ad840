"""``xaireport cams``: CAM maps, overlays and masks for a folder of images."""

from __future__ import annotations

import argparse

from xaireport.cli.options import add_common, command, load_inputs, parse_methods, settings_from
from xaireport.core.progress import bar


def _configure_cams(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument(
        "--methods",
        default=None,
        help="comma-separated: gradcam,ablationcam,scorecam (default: the cams.methods setting)",
    )
    p.add_argument("--target", type=int, default=None, help="class index to explain (default: top-1)")


@command("cams", "Grad-CAM, AblationCAM and ScoreCAM maps, overlays and masks for a folder of images", _configure_cams)
def _cams(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    methods = parse_methods(args.methods, settings["cams.methods"])
    imgs, clf = load_inputs(args, settings, out=args.out)
    from xaireport.core.cache import ResultCache
    from xaireport.methods.cams import METHODS
    from xaireport.outputs import write_cam_outputs, write_predictions
    from xaireport.results import cached_cam

    cache = ResultCache(settings.path("paths.cache"))
    rows = []
    for im in bar(imgs, desc="images", unit="image"):
        crop = clf.crop(im.array)
        for m in methods:
            setting = METHODS[m].batch_setting
            res = cached_cam(cache, clf, im, m, args.target, batch_size=settings[setting] if setting else None)
            write_cam_outputs(args.out, im.stem, crop, res)
        rows.append((im.name, res.class_index, res.class_name, res.score))
    write_predictions(args.out / "predictions.csv", rows)
    print(f"wrote {len(imgs)} images × {len(methods)} methods ({','.join(methods)}) to {args.out}")
    return 0
