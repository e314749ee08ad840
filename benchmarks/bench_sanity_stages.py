"""Where chapters 5 and 6 spend their time: each stage's share, and the whole against its forward-pass floor.

Runs chapter 5's computation (``xaireport.results.sanity.run``) and then chapter 6's
(``xaireport.results.evaluation.run``) for a profile, from an empty result cache in a temporary folder (chapters
2–4's explanations are computed too when chapter 6 needs them), with every stage timed *exclusively* (a stage's
time excludes the stages it calls):

    randomize        building a randomized network (deep copy, re-initialising blocks)
    onnx export      exporting a network to ONNX / writing new weights into the export
    onnx session     building an ONNX Runtime session
    forward (onnx)   ONNX Runtime's forward passes (ScoreCAM's masked inputs, LIME's samples)
    forward (torch)  PyTorch forward passes of the whole network (every other method and measure)
    backward         autograd passes (gradient methods, Grad-CAM)
    segmentation     LIME's quickshift superpixels
    road solve       ROAD's sparse imputation solves
    similarity       SSIM, HOG and rank correlations of the sanity checks
    cache I/O        reading and writing result-cache entries
    other            everything else (Python, numpy, the methods' own post-processing)

It counts the images every forward pass saw and the backward passes, measures ONNX Runtime's and PyTorch's
images/s on this machine in the same run (batches of 8 random inputs), and prints the **floor**: the forward
images at those rates plus each backward pass at the cost of two forwards. Usage::

    python benchmarks/bench_sanity_stages.py [--profile offline] [--images N] [--device cpu]

``--images`` limits both chapters to the first N report images (default: the profile's).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Stages:
    """Exclusive wall time per stage, through wrappers put around functions (nested stages subtract)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.images: dict[str, int] = defaultdict(int)
        self._stack: list[list[float]] = []  # per open stage: [start, time spent in children]
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: object, attr: str, stage: str, count: Callable | None = None) -> None:
        original = getattr(owner, attr)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            self._stack.append([time.perf_counter(), 0.0])
            try:
                return original(*args, **kwargs)
            finally:
                start, children = self._stack.pop()
                elapsed = time.perf_counter() - start
                self.seconds[stage] += elapsed - children
                self.calls[stage] += 1
                if count is not None:
                    self.images[stage] += count(*args, **kwargs)
                if self._stack:
                    self._stack[-1][1] += elapsed

        setattr(owner, attr, timed)
        self._undo.append(lambda: setattr(owner, attr, original))

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()


def _batch(x) -> int:
    return int(x.shape[0]) if hasattr(x, "shape") and len(x.shape) == 4 else 1


def instrument(stages: Stages) -> None:
    import onnxruntime
    import scipy.sparse.linalg
    import torch

    from xaireport.core import cache, onnxrt
    from xaireport.methods import faithfulness, sanity
    from xaireport.results import sanity as results_sanity

    stages.wrap(sanity, "randomize", "randomize")
    stages.wrap(results_sanity, "randomize", "randomize")
    stages.wrap(onnxrt, "export", "onnx export")
    stages.wrap(onnxrt, "with_weights", "onnx export")
    stages.wrap(onnxrt, "session", "onnx session")
    stages.wrap(
        onnxruntime.InferenceSession,
        "run",
        "forward (onnx)",
        count=lambda self, out, feed, *a, **k: int(next(iter(feed.values())).shape[0]),
    )
    stages.wrap(torch.autograd, "backward", "backward", count=lambda *a, **k: 1)
    stages.wrap(torch.autograd, "grad", "backward", count=lambda *a, **k: 1)
    stages.wrap(faithfulness, "spsolve", "road solve")
    stages.wrap(scipy.sparse.linalg, "spsolve", "road solve")
    for name in ("ssim", "hog_descriptor", "spearman_matrix", "edge_similarity"):
        stages.wrap(sanity, name, "similarity")
    stages.wrap(cache.ResultCache, "load", "cache I/O")
    stages.wrap(cache.ResultCache, "save", "cache I/O")
    import lime.wrappers.scikit_image as lime_seg

    stages.wrap(lime_seg.SegmentationAlgorithm, "__call__", "segmentation")


def wrap_model_forward(stages: Stages, classifier) -> None:
    """Count the whole network's PyTorch forward passes (and the randomized copies', which share its class)."""
    cls = type(classifier.model)
    stages.wrap(cls, "forward", "forward (torch)", count=lambda self, x, *a, **k: _batch(x))


def throughput(classifier, batch: int = 8, batches: int = 12) -> tuple[float, float]:
    """(ONNX Runtime images/s with one worker per core, PyTorch eager images/s) on random batches."""
    import torch

    from xaireport.core.device import map_batches
    from xaireport.core.inference import fast_forward

    model = classifier.model
    x = torch.randn(batch, 3, classifier.crop_size, classifier.crop_size)
    with fast_forward(model, x.contiguous(memory_format=torch.channels_last)) as forward:
        forward(x.contiguous(memory_format=torch.channels_last))
        start = time.perf_counter()
        xs = [x.contiguous(memory_format=torch.channels_last)] * batches
        list(map_batches(forward, xs, torch.device("cpu")))
        onnx = batch * batches / (time.perf_counter() - start)
    with torch.inference_mode():
        model(x)
        start = time.perf_counter()
        for _ in range(batches // 2):
            model(x)
        eager = batch * (batches // 2) / (time.perf_counter() - start)
    return onnx, eager


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="offline")
    p.add_argument("--images", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", type=Path, default=None, help="also write the numbers to this file")
    args = p.parse_args()
    sys.path.insert(0, str(ROOT / "code"))
    os.environ.setdefault("TQDM_DISABLE", "1")

    from xaireport.results import evaluation
    from xaireport.results import sanity as results_sanity
    from xaireport.session import Session
    from xaireport.settings import load

    with tempfile.TemporaryDirectory() as tmp:
        overrides: dict[str, object] = {"paths.cache": tmp, "device": args.device}
        if args.images is not None:
            overrides["sanity.images"] = args.images
            overrides["evaluation.images"] = args.images
        session = Session(load(args.profile, ROOT, overrides=overrides))
        from xaireport.models.description import real

        clf = real(session.classifier())
        onnx_rate, eager_rate = throughput(clf)
        stages = Stages()
        instrument(stages)
        wrap_model_forward(stages, clf)
        wall: dict[str, float] = {}
        try:
            start = time.perf_counter()
            results_sanity.run(session)
            wall["chapter 5"] = time.perf_counter() - start
            start = time.perf_counter()
            evaluation.run(session)
            wall["chapter 6"] = time.perf_counter() - start
        finally:
            stages.restore()
    total = sum(wall.values())
    timed = sum(stages.seconds.values())
    stages.seconds["other"] = total - timed
    onnx_images, torch_images = stages.images["forward (onnx)"], stages.images["forward (torch)"]
    backward = stages.images["backward"]
    floor = onnx_images / onnx_rate + (torch_images + 2 * backward) / eager_rate
    print(f"profile {args.profile}, {args.images or 'all'} images, device {args.device}")
    print(f"throughput: ONNX Runtime {onnx_rate:.1f} images/s (one worker per core), PyTorch eager {eager_rate:.1f}")
    for k, v in wall.items():
        print(f"{k}: {v:.1f} s")
    print(f"{'stage':18s} {'seconds':>9s} {'share':>7s} {'calls':>7s} {'images':>8s}")
    for stage, sec in sorted(stages.seconds.items(), key=lambda kv: -kv[1]):
        calls, images = stages.calls.get(stage, 0), stages.images.get(stage, 0)
        print(f"{stage:18s} {sec:9.1f} {sec / total:7.1%} {calls:7d} {images:8d}")
    print(
        f"forward-pass floor: {onnx_images} ONNX images / {onnx_rate:.1f} + ({torch_images} PyTorch images + 2 × "
        f"{backward} backward passes) / {eager_rate:.1f} = {floor:.1f} s; whole {total:.1f} s = "
        f"{total / floor:.2f}× the floor"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "wall": wall,
                    "stages": dict(stages.seconds),
                    "images": dict(stages.images),
                    "calls": dict(stages.calls),
                    "throughput": {"onnx": onnx_rate, "eager": eager_rate},
                    "floor": floor,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
