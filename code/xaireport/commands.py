"""The CLI's subcommands that produce results (``cams``, ``lime``, ``compare``, ``dissect``).

Each validates all its input (images, model, weights, options, output paths) before computing anything, and
writes every output file atomically (temporary file + rename) after that.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .cli import (add_common, add_model_options, add_settings_options, check_model_name, check_weights_file, command,
                  fraction, load_inputs, non_negative_int, parse_methods, positive_int, settings_from)
from .errors import UserError
from .progress import bar


def _configure_cams(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--methods", default=None,
                   help="comma-separated: gradcam,ablationcam,scorecam (default: the cams.methods setting)")
    p.add_argument("--target", type=int, default=None, help="class index to explain (default: top-1)")


@command("cams", "Grad-CAM, AblationCAM and ScoreCAM maps, overlays and masks for a folder of images",
         _configure_cams)
def _cams(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    methods = parse_methods(args.methods, settings["cams.methods"])
    imgs, clf = load_inputs(args, settings, out=args.out)
    from .cam_report import cached_cam, write_outputs, write_predictions
    from .report import Report

    cache = Report(settings).cache
    rows = []
    for im in bar(imgs, desc="images", unit="image"):
        crop = clf.crop(im.array)
        for m in methods:
            bs = settings["cams.ablation_batch_size"] if m == "ablationcam" else settings["cams.batch_size"]
            res = cached_cam(cache, clf, im, m, args.target, batch_size=bs)
            write_outputs(args.out, im.stem, crop, res)
        rows.append((im.name, res.class_index, res.class_name, res.score))
    write_predictions(args.out / "predictions.csv", rows)
    print(f"wrote {len(imgs)} images × {len(methods)} methods ({','.join(methods)}) to {args.out}")
    return 0


def _configure_lime(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--num-samples", type=int, default=None, help="perturbed samples (default: lime.num_samples)")
    p.add_argument("--num-features", type=int, default=None, help="superpixels in the mask (default: lime.num_features)")
    p.add_argument("--seed", type=int, default=None, help="the one random seed (default: the seed setting)")
    p.add_argument("--target", type=int, default=None, help="class index to explain (default: top-1)")


@command("lime", "LIME superpixel explanations for a folder of images", _configure_lime)
def _lime(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    n = args.num_samples if args.num_samples is not None else settings["lime.num_samples"]
    k = args.num_features if args.num_features is not None else settings["lime.num_features"]
    seed = args.seed if args.seed is not None else settings["seed"]
    if n < 2:
        raise UserError(f"--num-samples must be at least 2 (got {n})")
    if k < 1:
        raise UserError(f"--num-features must be at least 1 (got {k})")
    imgs, clf = load_inputs(args, settings, out=args.out)
    import pandas as pd

    from .fileio import save_csv
    from .lime_report import cached_lime, write_outputs
    from .report import Report

    cache = Report(settings).cache
    rows = []
    for im in bar(imgs, desc="LIME", unit="image"):
        r = cached_lime(cache, clf, im, n, k, seed, args.target, batch_size=settings["lime.batch_size"])
        write_outputs(args.out, im.stem, r)
        rows.append({"image": im.name, "class_index": r.class_index, "class_name": r.class_name,
                     "probability": round(r.score, 6), "r2": round(r.r2, 6), "superpixels": len(r.weights)})
    save_csv(pd.DataFrame(rows), args.out / "explanations.csv")
    print(f"wrote LIME explanations of {len(imgs)} images (num_samples={n}, seed={seed}) to {args.out}")
    return 0


def _configure_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cams", type=Path, required=True, help="output folder of `xaireport cams`")
    p.add_argument("--lime", type=Path, required=True, help="output folder of `xaireport lime`")
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.add_argument("--threshold", type=fraction, default=None,
                   help="Grad-CAM binarisation threshold in [0, 1] (default: comparison.gradcam_threshold)")
    p.add_argument("--method", default="gradcam", help="which CAM to compare with LIME (default gradcam)")
    p.add_argument("--seed", type=int, default=None, help="tie-break seed of the area-matched masks (default: seed)")
    add_settings_options(p)


@command("compare", "IoU of Grad-CAM vs LIME over the outputs of `xaireport cams` and `xaireport lime`",
         _configure_compare)
def _compare(args: argparse.Namespace) -> int:
    from .fileio import check_output_file
    from .modelnames import CAM_METHODS

    if args.method not in CAM_METHODS:
        raise UserError(f"unknown method {args.method!r}: choose from {', '.join(CAM_METHODS)}")
    settings = settings_from(args)
    threshold = args.threshold if args.threshold is not None else settings["comparison.gradcam_threshold"]
    seed = args.seed if args.seed is not None else settings["seed"]
    cam_dir = args.cams / args.method
    for folder, what, cmd in ((cam_dir, f"--cams (its {args.method}/ sub-folder)", "cams"),
                              (args.lime, "--lime", "lime")):
        if not folder.is_dir():
            raise UserError(f"{folder}: folder not found: pass the output folder of `xaireport {cmd}` as {what}")
    check_output_file(args.out)
    import numpy as np
    import pandas as pd

    from . import compare
    from .fileio import save_csv

    cams = {p.stem: p for p in sorted(cam_dir.glob("*.npy"))}
    limes = {p.stem: p for p in sorted(args.lime.glob("*.npz"))}
    common = sorted(set(cams) & set(limes))
    if not common:
        raise UserError(f"no image has both {cam_dir}/<image>.npy and {args.lime}/<image>.npz: "
                        "run `xaireport cams` and `xaireport lime` on the same images first")
    rows, problems = [], []
    for stem in common:
        try:
            cam = np.load(cams[stem])
            with np.load(limes[stem]) as z:
                mask, cls = z["mask"].astype(bool), str(z["class_name"])
            if cam.shape != mask.shape:
                raise ValueError(f"map {cam.shape} and LIME mask {mask.shape} differ in shape")
        except Exception as exc:  # noqa: BLE001 - a damaged output file of either command
            problems.append(f"{stem}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        rows.append({"image": stem, "class_name": cls, **compare.iou_row(cam, mask, threshold, seed)})
    if problems:
        raise UserError("cannot compare:\n" + "\n".join(problems))
    save_csv(pd.DataFrame(rows), args.out, float_format="%.6f")
    print(f"compared {len(rows)} images ({args.method} at {threshold} vs LIME) → {args.out}; "
          f"unmatched: {len(set(cams) ^ set(limes))}")
    return 0


def _configure_dissect(p: argparse.ArgumentParser) -> None:
    add_settings_options(p)
    add_model_options(p, required=True)
    p.add_argument("--categories", type=Path, help="Places365 only: local categories_places365.txt")
    p.add_argument("--layers", default="layer2,layer3,layer4", help="comma-separated layer names (fc: the outputs)")
    p.add_argument("--probe", default="places365-val",
                   help="places365-val, broden, generated, or a folder of images (default places365-val)")
    p.add_argument("--probe-size", type=positive_int, default=None,
                   help="random subset of this many probe images (seeded)")
    p.add_argument("--concepts", default="20k", help="20k, wordfreq-20k, broden, imagenet, places365 or a text file")
    p.add_argument("--clip", default="ViT-B-16", help="open_clip architecture (default ViT-B-16)")
    p.add_argument("--clip-pretrained", default="openai", help="open_clip pretrained tag, or none (random)")
    p.add_argument("--clip-weights", type=Path, help="local CLIP checkpoint instead of the download")
    p.add_argument("--similarity", default="soft_wpmi", help="soft_wpmi, wpmi, cos_similarity_cubed, cos_similarity")
    p.add_argument("--random-weights", action="store_true", help="random model and CLIP weights (plumbing checks only)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--num-workers", type=non_negative_int, default=2)
    p.add_argument("--autocast", action="store_true",
                   help="run the model under float16 autocast on a GPU (default float32, as the authors)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="output folder (writes descriptions.csv)")


@command("dissect", "CLIP-Dissect: a concept label for every unit of the given layers", _configure_dissect)
def _dissect(args: argparse.Namespace) -> int:
    from .dissect.concepts import check_concept_spec
    from .dissect.probe import SOURCES
    from .dissect.similarity import similarity_function
    from .fileio import check_output_folder, save_csv

    # Every name, number and path is checked before any download or forward pass.
    settings = settings_from(args)
    check_model_name(args.model)
    similarity_function(args.similarity)
    check_weights_file(args.weights)
    for path, option in ((args.categories, "--categories"), (args.clip_weights, "--clip-weights")):
        if path is not None and not path.is_file():
            raise UserError(f"{path}: file not found: check {option}")
    layers = [x.strip() for x in args.layers.split(",")]
    if not any(layers) or "" in layers:
        raise UserError(f"--layers {args.layers!r} has an empty name: give comma-separated layer names")
    check_concept_spec(args.concepts)
    probe_dir = None if args.probe in SOURCES else Path(args.probe)
    if probe_dir is not None and probe_dir.exists() and not probe_dir.is_dir():
        raise UserError(f"{probe_dir}: --probe is a file: pass a folder of images or one of {', '.join(SOURCES)}")
    if probe_dir is not None and not probe_dir.exists():
        raise UserError(f"{probe_dir}: probe folder not found: check --probe (a folder of images, or one of "
                        f"{', '.join(SOURCES)})")
    check_output_folder(args.out)

    from . import models
    from .dissect import dissect, load_concepts, load_probe
    from .dissect.encoders import check_clip_name, load_clip
    from .report import Report

    check_clip_name(args.clip, "none" if args.random_weights else args.clip_pretrained)
    source = "folder" if probe_dir is not None else args.probe
    cache = Report(settings).cache
    probe = load_probe(source, probe_dir, args.probe_size, args.seed, cache_dir=cache.root / "probe")
    concepts = load_concepts(args.concepts)
    clf = models.load(args.model, args.weights, settings["device"], random_init=args.random_weights,
                      seed=args.seed, categories=args.categories)
    clip = load_clip(args.clip, "none" if args.random_weights else args.clip_pretrained, args.clip_weights,
                     settings["device"], args.seed)
    res = dissect(cache, probe, clip, {"model": clf}, layers, concepts, args.similarity, args.batch_size,
                  args.num_workers, final_layer=False, autocast=args.autocast)["model"]
    save_csv(res.table, args.out / "descriptions.csv")
    print(f"labelled {len(res.table)} units of {clf.name} ({', '.join(layers)}) with {len(concepts)} concepts "
          f"on {len(probe)} probe images → {args.out / 'descriptions.csv'}")
    return 0
