"""Images per second of a classifier's forward pass, as ScoreCAM's masked passes run it, against plain PyTorch.

One process, one model, random inputs; each line is one way of running the same batches:

    default     the model in PyTorch's default memory format, every core on one batch (how the grad-cam
                package's ScoreCAM runs a model as torchvision loads it)
    eager       channels-last, every core on one batch (the baseline for the ratios)
    workers     channels-last, one single-threaded worker per core, each on its own batch
                (``xaireport.core.device.map_batches``)
    folded      workers + BatchNorm folded into the convolutions (``xaireport.core.inference.fold_batchnorm``)
    graph       workers + the frozen oneDNN graph (``xaireport.core.inference``; the fallback without ONNX Runtime)
    onnxruntime workers + the model exported to ONNX and run by ONNX Runtime, one thread per session
                (``xaireport.core.onnxrt``; what ``fast_forward`` uses on a CPU, so what ScoreCAM and LIME use)
    compiled    with ``--compile``: workers + ``torch.compile`` (inductor, freezing), TorchScript's successor;
                its compilation time is printed, not counted in images/s

and prints images/s, the ratio to ``eager``, and the largest logit difference from ``eager``.
Usage: ``python benchmarks/bench_forward.py [--model resnet50] [--batch-size 8] [--batches 24] [--compile]``
(random weights unless the model is ``efficientnet-lite0``; the timing does not depend on them).
"""

from __future__ import annotations

import argparse
import copy
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet50")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--batches", type=int, default=24)
    p.add_argument("--compile", action="store_true", help="also time torch.compile (needs a C++ compiler)")
    args = p.parse_args()

    import torch

    from xaireport import models
    from xaireport.core import onnxrt
    from xaireport.core.device import map_batches
    from xaireport.core.inference import _checked_graph, fold_batchnorm, onednn_fusion

    clf = models.load(args.model, random_init=args.model != "efficientnet-lite0", device="cpu")
    cl = torch.channels_last
    torch.manual_seed(0)
    batches = [torch.rand(args.batch_size, 3, 224, 224).contiguous(memory_format=cl) for _ in range(args.batches)]
    with torch.inference_mode():
        reference = [clf.model(b) for b in batches[:2]]

    def timed(run, model, xs) -> tuple[float, float]:
        def one(x):
            with torch.inference_mode():
                return model(x)

        list(run(one, xs[:2]))  # warm-up
        start = time.perf_counter()
        outs = list(run(one, xs))
        rate = len(xs) * args.batch_size / (time.perf_counter() - start)
        return rate, max(float((o - r).abs().max()) for o, r in zip(outs, reference))

    def serial(fn, xs):
        return map(fn, xs)

    def parallel(fn, xs):
        return map_batches(fn, xs, torch.device("cpu"))

    default_model = copy.deepcopy(clf.model).to(memory_format=torch.contiguous_format)
    rows = {"default": timed(serial, default_model, [b.contiguous() for b in batches])}
    del default_model
    rows["eager"] = timed(serial, clf.model, batches)
    rows["workers"] = timed(parallel, clf.model, batches)
    rows["folded"] = timed(parallel, fold_batchnorm(clf.model), batches)
    with onednn_fusion():
        frozen = _checked_graph(fold_batchnorm(clf.model), batches[0])
        kind = "oneDNN graph" if frozen is not None else "fell back to eager"
        rows[f"graph ({kind})"] = timed(parallel, frozen or fold_batchnorm(clf.model), batches)
    start = time.perf_counter()
    session = onnxrt.forward(clf.model, batches[0])
    if session is not None:
        print(f"# ONNX export and session: {time.perf_counter() - start:.1f} s")
        rows["onnxruntime"] = timed(parallel, session, batches)
    if args.compile:
        import torch._inductor.config as inductor

        inductor.freezing = True
        compiled = torch.compile(clf.model)
        start = time.perf_counter()
        with torch.no_grad():
            compiled(batches[0])
        print(f"# torch.compile: {time.perf_counter() - start:.1f} s to compile")
        rows["compiled (inductor, freezing)"] = timed(parallel, compiled, batches)
    print(
        f"# {args.model}, batch {args.batch_size} x {args.batches}, CPU threads {torch.get_num_threads()}, "
        f"torch {torch.__version__}"
    )
    print(f"{'way':30s}{'images/s':>10s}{'vs eager':>10s}{'max|Δlogit|':>13s}")
    base = rows["eager"][0]
    for name, (rate, diff) in rows.items():
        print(f"{name:30s}{rate:10.1f}{rate / base:9.2f}x{diff:13.1e}")


if __name__ == "__main__":
    main()
