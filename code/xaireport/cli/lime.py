"""``xaireport lime``: LIME explanations for a folder of images."""

from __future__ import annotations

import argparse

from xaireport.cli.options import add_common, command, load_inputs, settings_from
from xaireport.core.errors import UserError
from xaireport.core.progress import bar


def _configure_lime(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--num-samples", type=int, default=None, help="perturbed samples (default: lime.num_samples)")
    p.add_argument(
        "--num-features", type=int, default=None, help="superpixels in the mask (default: lime.num_features)"
    )
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

    from xaireport.core.cache import ResultCache
    from xaireport.core.fileio import save_csv
    from xaireport.outputs import write_lime_outputs
    from xaireport.results import cached_lime

    cache = ResultCache(settings.path("paths.cache"))
    rows = []
    for im in bar(imgs, desc="LIME", unit="image"):
        r = cached_lime(cache, clf, im, n, k, seed, args.target, batch_size=settings["lime.batch_size"])
        write_lime_outputs(args.out, im.stem, r)
        rows.append(
            {
                "image": im.name,
                "class_index": r.class_index,
                "class_name": r.class_name,
                "probability": round(r.score, 6),
                "r2": round(r.r2, 6),
                "superpixels": len(r.weights),
            }
        )
    save_csv(pd.DataFrame(rows), args.out / "explanations.csv")
    print(f"wrote LIME explanations of {len(imgs)} images (num_samples={n}, seed={seed}) to {args.out}")
    return 0
