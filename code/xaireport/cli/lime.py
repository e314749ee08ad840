"""``xaireport lime``: LIME explanations for a folder of images (chapter 3's computation)."""

from __future__ import annotations

import argparse

from xaireport.cli.options import add_common, command, prepare, session_from


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
    options = {"lime.num_samples": args.num_samples, "lime.num_features": args.num_features, "seed": args.seed}
    session = session_from(args, {k: v for k, v in options.items() if v is not None})
    clf = prepare(args, session, out=args.out)
    import pandas as pd

    from xaireport.core.fileio import save_csv
    from xaireport.core.progress import bar
    from xaireport.methods.explanations import LimeResult
    from xaireport.outputs import write_lime_outputs
    from xaireport.results.explanations import explain

    s, lime = session.settings, session.method("lime")
    rows = []
    for im in bar(session.images(), desc="LIME", unit="image"):
        r = LimeResult.of(explain(session, im, lime, args.target), clf.crop(im.array))
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
    print(
        f"wrote LIME explanations of {len(rows)} images (num_samples={s.lime.num_samples}, seed={s.seed}) to {args.out}"
    )
    return 0
