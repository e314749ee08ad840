"""CLIP-Dissect overhead: total dissection time against the floor of its forward passes, and the similarity step.

1. For a probe set of N images, times (a) the forward passes alone — the CLIP image encoder and the target
   model on pre-loaded, pre-processed tensors — and (b) the whole `xaireport.methods.dissect.dissect` on an empty
   cache (data loading, hooks, text embeddings of the concepts, similarity, labelling). Prints the overhead
   of (b) over (a), excluding the concept text embedding, which is a fixed cost per concept set (reported
   separately).
2. Times soft-WPMI for K units × M concepts × N images of synthetic data (default 512 × 20,000 × 10,000).

Usage: ``python benchmarks/bench_dissect.py [--probe generated|DIR] [--n 256] [--clip ViT-B-16] [--skip-similarity]``.
Random weights are used for CLIP and the ResNet-18 (the timing does not depend on the weights).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--probe", default="generated")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--clip", default="ViT-B-16")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-workers", type=int, default=2)
    p.add_argument("--units", type=int, default=512)
    p.add_argument("--concepts", type=int, default=20000)
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--skip-similarity", action="store_true")
    args = p.parse_args()

    import torch

    from xaireport import models
    from xaireport.core import progress
    from xaireport.core.cache import ResultCache
    from xaireport.methods.dissect.encoders import _Probe, embed_texts, load_clip, target_transform
    from xaireport.methods.dissect.probe import load_probe
    from xaireport.methods.dissect.similarity import soft_wpmi
    from xaireport.results.dissection import dissect

    progress.set_enabled(False)
    with tempfile.TemporaryDirectory() as tmp:
        src = "generated" if args.probe == "generated" else "folder"
        probe = load_probe(src, None if src == "generated" else args.probe, args.n, 0, cache_dir=Path(tmp))
        clip = load_clip(args.clip, "none", device="auto")
        net = models.load("resnet18", random_init=True, device="auto")
        concepts = [f"concept {i}" for i in range(200)]
        # (a) forward passes alone on pre-loaded tensors
        ds = _Probe(probe.paths, [clip.preprocess, target_transform(net)])
        items = [ds[i] for i in range(len(ds))]
        xs_clip = torch.stack([a for a, _ in items])
        xs_net = torch.stack([b for _, b in items])
        start = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, len(items), args.batch_size):
                clip.model.encode_image(xs_clip[i : i + args.batch_size].to(clip.device))
                x = xs_net[i : i + args.batch_size].to(net.device)
                if net.device.type == "cpu":
                    x = x.contiguous(memory_format=torch.channels_last)
                net.model(x)
        floor = time.perf_counter() - start
        start = time.perf_counter()
        embed_texts(clip, concepts)
        text = time.perf_counter() - start
        # (b) the whole dissection, empty cache
        start = time.perf_counter()
        dissect(
            ResultCache(Path(tmp) / "cache"),
            probe,
            clip,
            {"m": net},
            ["layer2", "layer3", "layer4"],
            concepts,
            batch_size=args.batch_size,
            num_workers=args.num_workers,
            final_layer=False,
        )
        total = time.perf_counter() - start
    print(
        f"# {len(probe)} probe images, CLIP {args.clip} + ResNet-18 on {net.device}, "
        f"{torch.get_num_threads()} threads, batch {args.batch_size}, workers {args.num_workers}"
    )
    print(
        f"forward passes alone {floor:.2f} s   dissection total {total:.2f} s   "
        f"of which concept text embedding ({len(concepts)} concepts) {text:.2f} s"
    )
    print(f"overhead over the forward-pass floor (excluding text embedding): {(total - text) / floor - 1:+.1%}")
    if not args.skip_similarity:
        P = torch.rand(args.images, args.concepts) * 0.3
        A = torch.rand(args.images, args.units)
        start = time.perf_counter()
        soft_wpmi(P, A)
        print(
            f"soft-WPMI {args.units} units × {args.concepts} concepts × {args.images} images: "
            f"{time.perf_counter() - start:.1f} s"
        )


if __name__ == "__main__":
    main()
