"""Our LIME pipeline against the lime PyTorch tutorial's (lime's explainer + ``batch_predict``, batches of 10),
and against our own ``classifier_fn`` on the eager model (before the cached graph, issue 15).

Same classifier, image and seed; prints seconds for each, the ratios, and whether the explanations are equal
(segments, top superpixel mask, weights to 1e-5). The graph is traced once per model and batch shape, in the
warm-up (as in a render, where the first image pays for it). Usage:
``python benchmarks/bench_lime.py [--model efficientnet-lite0] [--image PATH] [--num-samples 300] [--seed 0]
[--repeat 2]``
(the best of ``--repeat`` runs is reported for each pipeline, alternating them).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="efficientnet-lite0")
    p.add_argument("--image", default=str(ROOT / "data/images/chelsea.png"))
    p.add_argument("--num-samples", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument(
        "--baseline-format",
        choices=["default", "channels_last"],
        default="default",
        help="memory format of the tutorial's model: PyTorch's default, as the tutorial loads it "
        "(default), or the channels-last model ours uses",
    )
    args = p.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")  # lime's own bar would be timed too, but not printed

    import numpy as np
    import torch

    from xaireport import models
    from xaireport.images import load_image
    from xaireport.methods.lime import explain

    clf = models.load(args.model, device="auto")
    ref_clf = clf
    if args.baseline_format == "default" and clf.device.type == "cpu":
        import copy
        import dataclasses

        ref_clf = dataclasses.replace(clf, model=copy.deepcopy(clf.model).to(memory_format=torch.contiguous_format))
    img = load_image(args.image).array
    explain(clf, img, num_samples=20, seed=args.seed)  # warm-up
    best = {"ours": float("inf"), "eager": float("inf"), "tutorial": float("inf")}
    results = {}
    for _ in range(args.repeat):
        for name in best:
            r = explain(
                ref_clf if name == "tutorial" else clf,
                img,
                num_samples=args.num_samples,
                seed=args.seed,
                reference=name == "tutorial",
                graph=name == "ours",
            )
            best[name] = min(best[name], r.seconds)
            results[name] = r

    def same(a, b) -> bool:
        return (
            np.array_equal(a.parts["segments"], b.parts["segments"])
            and np.array_equal(a.parts["mask"], b.parts["mask"])
            and np.allclose(a.parts["weights"], b.parts["weights"], atol=1e-5)
        )

    equal = same(results["ours"], results["tutorial"]) and same(results["ours"], results["eager"])
    print(
        f"# {args.model} on {clf.device} ({torch.get_num_threads()} threads), {Path(args.image).name}, "
        f"num_samples={args.num_samples}, seed={args.seed}, best of {args.repeat}, "
        f"tutorial model memory format: {args.baseline_format}"
    )
    print(
        f"ours {best['ours']:.2f} s   ours eager (before) {best['eager']:.2f} s   tutorial {best['tutorial']:.2f} s   "
        f"ratio vs eager {best['eager'] / best['ours']:.2f}x   vs tutorial {best['tutorial'] / best['ours']:.2f}x   "
        f"equal explanations: {equal}"
    )
    sys.exit(0 if equal else 1)


if __name__ == "__main__":
    main()
