"""``xaireport dissect``: CLIP-Dissect labels for the units of any layers of a model."""

from __future__ import annotations

import argparse
from pathlib import Path

from xaireport.cli.options import (
    add_model_options,
    add_settings_options,
    check_model_name,
    check_weights_file,
    command,
    non_negative_int,
    positive_int,
    settings_from,
)
from xaireport.core.errors import UserError


def _configure_dissect(p: argparse.ArgumentParser) -> None:
    add_settings_options(p)
    add_model_options(p, required=True, explain=False)
    p.add_argument("--categories", type=Path, help="Places365 only: local categories_places365.txt")
    p.add_argument("--layers", default="layer2,layer3,layer4", help="comma-separated layer names (fc: the outputs)")
    p.add_argument(
        "--probe",
        default="places365-val",
        help="places365-val, broden, generated, or a folder of images (default places365-val)",
    )
    p.add_argument(
        "--probe-size", type=positive_int, default=None, help="random subset of this many probe images (seeded)"
    )
    p.add_argument("--concepts", default="20k", help="20k, wordfreq-20k, broden, imagenet, places365 or a text file")
    p.add_argument("--clip", default="ViT-B-16", help="open_clip architecture (default ViT-B-16)")
    p.add_argument("--clip-pretrained", default="openai", help="open_clip pretrained tag, or none (random)")
    p.add_argument("--clip-weights", type=Path, help="local CLIP checkpoint instead of the download")
    p.add_argument("--similarity", default="soft_wpmi", help="soft_wpmi, wpmi, cos_similarity_cubed, cos_similarity")
    p.add_argument("--random-weights", action="store_true", help="random model and CLIP weights (plumbing checks only)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--num-workers", type=non_negative_int, default=2)
    p.add_argument(
        "--autocast",
        action="store_true",
        help="run the model under float16 autocast on a GPU (default float32, as the authors)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="output folder (writes descriptions.csv)")


@command("dissect", "CLIP-Dissect: a concept label for every unit of the given layers", _configure_dissect)
def _dissect(args: argparse.Namespace) -> int:
    from xaireport.core.fileio import check_output_folder, save_csv
    from xaireport.methods.dissect.concepts import check_concept_spec
    from xaireport.methods.dissect.probe import SOURCES
    from xaireport.methods.dissect.similarity import similarity_function

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
        raise UserError(
            f"{probe_dir}: probe folder not found: check --probe (a folder of images, or one of {', '.join(SOURCES)})"
        )
    check_output_folder(args.out)

    from xaireport import models
    from xaireport.core.cache import ResultCache
    from xaireport.methods.dissect.concepts import load_concepts
    from xaireport.methods.dissect.encoders import check_clip_name, load_clip
    from xaireport.methods.dissect.probe import load_probe
    from xaireport.results.dissection import dissect

    check_clip_name(args.clip, "none" if args.random_weights else args.clip_pretrained)
    source = "folder" if probe_dir is not None else args.probe
    cache = ResultCache(settings.folder(settings.paths.cache))
    probe = load_probe(source, probe_dir, args.probe_size, args.seed, cache_dir=cache.root / "probe")
    concepts = load_concepts(args.concepts)
    clf = models.load(
        args.model,
        args.weights,
        settings.device,
        random_init=args.random_weights,
        seed=args.seed,
        categories=args.categories,
    )
    clip = load_clip(
        args.clip,
        "none" if args.random_weights else args.clip_pretrained,
        args.clip_weights,
        settings.device,
        args.seed,
    )
    res = dissect(
        cache,
        probe,
        clip,
        {"model": clf},
        layers,
        concepts,
        args.similarity,
        args.batch_size,
        args.num_workers,
        final_layer=False,
        autocast=args.autocast,
    )["model"]
    save_csv(res.table, args.out / "descriptions.csv")
    print(
        f"labelled {len(res.table)} units of {clf.name} ({', '.join(layers)}) with {len(concepts)} concepts "
        f"on {len(probe)} probe images → {args.out / 'descriptions.csv'}"
    )
    return 0
