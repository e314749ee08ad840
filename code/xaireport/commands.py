"""The CLI's subcommands that produce results (``cams``, ``lime``, ``compare``, ``dissect``).

Each validates all its input (images, model, weights, options) before computing anything, and writes its
outputs only after that.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .progress import bar

from .cli import add_common, add_settings_options, check_weights_file, command, load_inputs, prepare_out, settings_from
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
    cache = Report(settings).cache
    prepare_out(args.out)
    rows = []
    for im in bar(imgs, desc="images", unit="image"):
        crop = clf.crop(im.array)
        for m in methods:
            bs = settings["cams.ablation_batch_size"] if m == "ablationcam" else settings["cams.batch_size"]
            res = cached_cam(cache, clf, im, m, args.target, batch_size=bs)
            write_outputs(args.out, im.stem, crop, res)
        rows.append((im.name, res.class_index, res.class_name, res.score))
    write_predictions(args.out / "predictions.csv", rows)
    print(f"wrote {len(imgs)} images × {len(methods)} methods to {args.out}")
    return 0


def _configure_lime(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--num-samples", type=int, default=None, help="perturbed samples (default: lime.num_samples)")
    p.add_argument("--num-features", type=int, default=None, help="superpixels in the mask (default: lime.num_features)")
    p.add_argument("--seed", type=int, default=None, help="the one random seed (default: the seed setting)")
    p.add_argument("--target", type=int, default=None, help="class index to explain (default: top-1)")


@command("lime", "LIME superpixel explanations for a folder of images", _configure_lime)
def _lime(args: argparse.Namespace) -> int:
    import csv

    from .lime_report import cached_lime, write_outputs
    from .report import Report

    settings = settings_from(args)
    n = args.num_samples if args.num_samples is not None else settings["lime.num_samples"]
    k = args.num_features if args.num_features is not None else settings["lime.num_features"]
    seed = args.seed if args.seed is not None else settings["seed"]
    if n < 2:
        raise UserError(f"--num-samples must be at least 2 (got {n})")
    if k < 1:
        raise UserError(f"--num-features must be at least 1 (got {k})")
    imgs, clf = load_inputs(args, settings)
    cache = Report(settings).cache
    prepare_out(args.out)
    rows = []
    for im in bar(imgs, desc="LIME", unit="image"):
        r = cached_lime(cache, clf, im, n, k, seed, args.target, batch_size=settings["lime.batch_size"])
        write_outputs(args.out, im.stem, r)
        rows.append([im.name, r.class_index, r.class_name, f"{r.score:.6f}", f"{r.r2:.6f}", len(r.weights)])
    with open(args.out / "explanations.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "class_index", "class_name", "probability", "r2", "superpixels"])
        w.writerows(rows)
    print(f"wrote LIME explanations of {len(imgs)} images (num_samples={n}, seed={seed}) to {args.out}")
    return 0


def _configure_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cams", type=Path, required=True, help="output folder of `xaireport cams`")
    p.add_argument("--lime", type=Path, required=True, help="output folder of `xaireport lime`")
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.add_argument("--threshold", type=float, default=0.5, help="Grad-CAM binarisation threshold (default 0.5)")
    p.add_argument("--method", default="gradcam", help="which CAM to compare with LIME (default gradcam)")


@command("compare", "IoU of Grad-CAM vs LIME over the outputs of `xaireport cams` and `xaireport lime`",
         _configure_compare)
def _compare(args: argparse.Namespace) -> int:
    import numpy as np

    from . import compare

    cam_dir = args.cams / args.method
    for folder, what in ((cam_dir, f"--cams (its {args.method}/ sub-folder)"), (args.lime, "--lime")):
        if not folder.is_dir():
            raise UserError(f"{folder}: folder not found: pass the output folder of `xaireport "
                            f"{'cams' if 'cams' in what else 'lime'}` as {what}")
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
            z = np.load(limes[stem])
            mask, cls = z["mask"].astype(bool), str(z["class_name"])
            if cam.shape != mask.shape:
                raise ValueError(f"map {cam.shape} and LIME mask {mask.shape} differ in shape")
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"{stem}: {exc}")
            continue
        cam_mask = compare.binarize(cam, threshold=args.threshold)
        matched = compare.binarize(cam, area=float(mask.mean()))
        a_cam, a_lime = float(cam_mask.mean()), float(mask.mean())
        rows.append([stem, cls, a_cam, a_lime, compare.iou(cam_mask, mask), compare.chance_iou(a_cam, a_lime),
                     compare.placement_chance_iou(cam_mask, mask), compare.iou(matched, mask),
                     compare.chance_iou(a_lime, a_lime), compare.placement_chance_iou(matched, mask)])
    if problems:
        raise UserError("cannot compare:\n" + "\n".join(problems))
    import csv

    if args.out.parent and not args.out.parent.exists():
        args.out.parent.mkdir(parents=True)
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "class_name", "cam_area", "lime_area", "iou_threshold", "chance_threshold",
                    "placement_chance_threshold", "iou_area_matched", "chance_area_matched",
                    "placement_chance_area_matched"])
        for r in rows:
            w.writerow(r[:2] + [f"{v:.6f}" for v in r[2:]])
    print(f"compared {len(rows)} images ({args.method} at {args.threshold} vs LIME) → {args.out}; "
          f"unmatched: {len(set(cams) ^ set(limes))}")
    return 0


def _configure_dissect(p: argparse.ArgumentParser) -> None:
    add_settings_options(p)
    p.add_argument("--model", required=True, help="resnet18, resnet18-places365, resnet50 or efficientnet-lite0")
    p.add_argument("--weights", type=Path, help="local weights file instead of the download")
    p.add_argument("--categories", type=Path, help="Places365 only: local categories_places365.txt")
    p.add_argument("--layers", default="layer2,layer3,layer4", help="comma-separated layer names")
    p.add_argument("--probe", default="places365-val",
                   help="places365-val, broden, generated, or a folder of images (default places365-val)")
    p.add_argument("--probe-size", type=int, default=None, help="random subset of this many probe images (seeded)")
    p.add_argument("--concepts", default="20k", help="20k, wordfreq-20k, broden, imagenet, places365 or a text file")
    p.add_argument("--clip", default="ViT-B-16", help="open_clip architecture (default ViT-B-16)")
    p.add_argument("--clip-pretrained", default="openai", help="open_clip pretrained tag, or none (random)")
    p.add_argument("--clip-weights", type=Path, help="local CLIP checkpoint instead of the download")
    p.add_argument("--similarity", default="soft_wpmi", help="soft_wpmi, wpmi, cos_similarity_cubed, cos_similarity")
    p.add_argument("--random-weights", action="store_true", help="random model and CLIP weights (plumbing checks only)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-workers", type=int, default=2)
    p.add_argument("--autocast", action="store_true",
                   help="run the model under float16 autocast on a GPU (default float32, as the authors)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="output folder (writes descriptions.csv)")


@command("dissect", "CLIP-Dissect: a concept label for every unit of the given layers", _configure_dissect)
def _dissect(args: argparse.Namespace) -> int:
    from . import models
    from .dissect import dissect, load_concepts, load_probe
    from .dissect.encoders import load_clip
    from .dissect.probe import SOURCES
    from .dissect.similarity import similarity_function
    from .report import Report

    settings = settings_from(args)
    similarity_function(args.similarity)  # fail before loading anything
    check_weights_file(args.weights)
    layers = [x for x in args.layers.split(",") if x]
    probe_dir = None if args.probe in SOURCES else Path(args.probe)
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
    prepare_out(args.out)
    res.table.to_csv(args.out / "descriptions.csv", index=False)
    print(f"labelled {len(res.table)} units of {clf.name} ({', '.join(layers)}) with {len(concepts)} concepts "
          f"on {len(probe)} probe images → {args.out / 'descriptions.csv'}")
    return 0
