"""Our CAM methods against the ``grad-cam`` package's classes: time, agreement and peak memory.

Each (model, method, implementation) runs in a fresh subprocess on the same image so that its peak resident
memory is its own; the parent compares the maps and prints one line per method:

    model  method  ours s  library s  ratio  max |diff|  ours peak MB  library peak MB  memory ratio

"peak MB" is the growth of the process's peak RSS over its size after loading the model (ru_maxrss).
Usage: ``python benchmarks/bench_cams.py [--models resnet50,efficientnet-lite0,timm:convnext_atto,...] [--methods ...]
[--image PATH]``. Every model but EfficientNet-Lite0 uses random weights (no download needed); the maps are still
compared exactly. Any ``timm:``/``torchvision:`` name works (the library gets the same ``reshape_transform``). On
target layers that are not post-ReLU (ConvNeXt, MobileNetV3) the package's AblationCAM lowers the ablation value
by 1e7 per earlier channel in its batch (see methods/cams/ablationcam.py), so max |diff| there is not rounding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(model: str, method: str, impl: str, image: str, out: str, baseline_format: str) -> None:
    import numpy as np
    import torch
    from pytorch_grad_cam import AblationCAM, GradCAM, ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from xaireport import models
    from xaireport.images import load_image
    from xaireport.methods.registry import explain

    clf = models.load(model, random_init=(model != "efficientnet-lite0"), device="cpu")
    if impl == "library" and baseline_format == "default":
        # The library as its users run it: a model in PyTorch's default memory format.
        clf.model.to(memory_format=torch.contiguous_format)
    img = load_image(image).array
    x = clf.preprocess(img)
    with torch.inference_mode():
        target = int(clf.model(x).argmax())
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if impl == "ours":
        cam = explain(clf, img, method, target=target, progress=False).map
    else:
        cls = {"gradcam": GradCAM, "ablationcam": AblationCAM, "scorecam": ScoreCAM}[method]
        with cls(clf.model, [clf.target_layer], reshape_transform=clf.reshape_transform) as c:
            cam = c(x.clone().requires_grad_(method == "gradcam"), [ClassifierOutputTarget(target)])[0]
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    np.save(out, cam)
    print(json.dumps({"seconds": seconds, "peak_mb": (peak - base) / 1024}))


def measure(model: str, method: str, impl: str, image: str, baseline_format: str) -> tuple[dict, np.ndarray]:
    import numpy as np

    with tempfile.TemporaryDirectory() as d:
        out = str(Path(d) / "map.npy")
        r = subprocess.run(
            [sys.executable, __file__, "--child", model, method, impl, image, out, baseline_format],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(r.stdout.strip().splitlines()[-1]), np.load(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="resnet50,efficientnet-lite0")
    p.add_argument("--methods", default="gradcam,ablationcam,scorecam")
    p.add_argument("--image", default=str(ROOT / "data/images/chelsea.png"))
    p.add_argument(
        "--baseline-format",
        choices=["default", "channels_last"],
        default="default",
        help="memory format of the model the library runs on: PyTorch's default, as the library's "
        "users load it (default), or the channels-last model ours uses",
    )
    p.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return
    import torch

    print(
        f"# image {Path(args.image).name}, CPU threads {torch.get_num_threads()}, torch {torch.__version__}, "
        f"library model memory format: {args.baseline_format}"
    )
    print(
        f"{'model':20s}{'method':13s}{'ours s':>9s}{'lib s':>9s}{'ratio':>8s}{'max|diff|':>11s}"
        f"{'ours MB':>9s}{'lib MB':>9s}{'mem ratio':>10s}"
    )
    for model in args.models.split(","):
        for method in args.methods.split(","):
            ours, m1 = measure(model, method, "ours", args.image, args.baseline_format)
            lib, m2 = measure(model, method, "library", args.image, args.baseline_format)
            diff = float(abs(m1 - m2).max())
            mem = lib["peak_mb"] / max(ours["peak_mb"], 1.0)
            print(
                f"{model:20s}{method:13s}{ours['seconds']:9.2f}{lib['seconds']:9.2f}"
                f"{lib['seconds'] / ours['seconds']:8.1f}x{diff:11.2e}{ours['peak_mb']:9.0f}{lib['peak_mb']:9.0f}"
                f"{mem:9.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
