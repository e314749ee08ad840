"""``xaireport compare``: Grad-CAM (or another CAM) vs LIME agreement over the two commands' outputs."""

from __future__ import annotations

import argparse
from pathlib import Path

from xaireport.cli.options import add_settings_options, command, fraction, settings_from
from xaireport.core.errors import UserError


def _configure_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cams", type=Path, required=True, help="output folder of `xaireport cams`")
    p.add_argument("--lime", type=Path, required=True, help="output folder of `xaireport lime`")
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.add_argument(
        "--threshold",
        type=fraction,
        default=None,
        help="Grad-CAM binarisation threshold in [0, 1] (default: comparison.gradcam_threshold)",
    )
    p.add_argument("--method", default="gradcam", help="which CAM to compare with LIME (default gradcam)")
    p.add_argument("--seed", type=int, default=None, help="tie-break seed of the area-matched masks (default: seed)")
    add_settings_options(p)


def _cam_classes(cams: Path) -> dict[str, int]:
    """Image stem → the class its CAMs explain, from ``predictions.csv`` in the output folder of ``xaireport
    cams``."""
    import csv

    path = cams / "predictions.csv"
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return {Path(r["image"]).stem: int(r["class_index"]) for r in csv.DictReader(fh)}
    except FileNotFoundError as exc:
        raise UserError(
            f"{path}: not found, so the class each CAM explains is unknown: pass the output folder of `xaireport "
            "cams` as --cams"
        ) from exc
    except (KeyError, ValueError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: not the predictions.csv that `xaireport cams` writes ({exc}): re-run it") from exc


@command(
    "compare", "IoU of Grad-CAM vs LIME over the outputs of `xaireport cams` and `xaireport lime`", _configure_compare
)
def _compare(args: argparse.Namespace) -> int:
    from xaireport.core.fileio import check_output_file
    from xaireport.methods import registry

    registry.check([args.method], "--method", "CAM")
    overrides = {"comparison.gradcam_threshold": args.threshold, "seed": args.seed}
    settings = settings_from(args, {k: v for k, v in overrides.items() if v is not None})
    threshold, seed = settings.comparison.gradcam_threshold, settings.seed
    cam_dir = args.cams / args.method
    for folder, what, cmd in (
        (cam_dir, f"--cams (its {args.method}/ sub-folder)", "cams"),
        (args.lime, "--lime", "lime"),
    ):
        if not folder.is_dir():
            raise UserError(f"{folder}: folder not found: pass the output folder of `xaireport {cmd}` as {what}")
    check_output_file(args.out)
    import numpy as np
    import pandas as pd

    from xaireport.core.fileio import save_csv
    from xaireport.methods import agreement

    explained = _cam_classes(args.cams)
    cams = {p.stem: p for p in sorted(cam_dir.glob("*.npy"))}
    limes = {p.stem: p for p in sorted(args.lime.glob("*.npz"))}
    common = sorted(set(cams) & set(limes))
    if not common:
        raise UserError(
            f"no image has both {cam_dir}/<image>.npy and {args.lime}/<image>.npz: "
            "run `xaireport cams` and `xaireport lime` on the same images first"
        )
    rows, problems = [], []
    for stem in common:
        try:
            cam = np.load(cams[stem])
            with np.load(limes[stem]) as z:
                mask, cls, lime_class = z["mask"].astype(bool), str(z["class_name"]), int(z["class_index"])
            if cam.shape != mask.shape:
                raise ValueError(f"map {cam.shape} and LIME mask {mask.shape} differ in shape")
            if stem not in explained:
                raise ValueError(f"not in {args.cams / 'predictions.csv'}: re-run `xaireport cams` on it")
            if explained[stem] != lime_class:
                raise ValueError(
                    f"the CAM explains class {explained[stem]} and LIME class {lime_class} ({cls}): run both with "
                    "the same --target (or both for the top-1 class)"
                )
        except Exception as exc:  # noqa: BLE001 - a damaged output file of either command
            problems.append(f"{stem}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        rows.append({"image": stem, "class_name": cls, **agreement.iou_row(cam, mask, threshold, seed)})
    if problems:
        raise UserError("cannot compare:\n" + "\n".join(problems))
    save_csv(pd.DataFrame(rows), args.out, float_format="%.6f")
    print(
        f"compared {len(rows)} images ({args.method} at {threshold} vs LIME) → {args.out}; "
        f"unmatched: {len(set(cams) ^ set(limes))}"
    )
    return 0
