"""What the first ``make report`` (the default profile) costs on this machine: an ESTIMATE from measured per-item costs.

The default profile explains ResNet-50 (chapters 2–6) and dissects two ResNet-18s with CLIP ViT-B/16 over 10,000
Places365 probe images (chapter 1). Their trained weights cannot be downloaded here, so this script measures, on
this machine, what one item costs with **random weights of the same architectures** (the cost of a forward or
backward pass does not depend on the weights; ScoreCAM's does a little, through how many channels are constant):

* one explanation of one image by every method chapters 2–6 run (ResNet-50, the default settings: LIME with
  ``lime.num_samples`` and ``sanity.lime_num_samples`` samples), on the network and on a copy with its top blocks
  randomized; one ROAD score; one deletion + insertion curve;
* CLIP-Dissect's probe throughput: images/s of the ViT-B/16 image encoder and of a ResNet-18 with hooks on
  ``layer2``–``layer4``, at batch 32, on generated probe images; and the text encoder over concepts.

and multiplies them by how many of each the default profile's render computes (counted from its settings, as
chapters 2–6 and 1 run them). It prints the items, their measured costs and the estimated minutes per chapter. For a
GPU it prints the same counts converted with a GPU throughput **you give** (``--gpu-images-per-s``, the ResNet-50
forward images/s of your card): nothing here was measured on a GPU.

Usage: ``python benchmarks/bench_first_render.py [--skip-dissection] [--gpu-images-per-s 1500]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Places365 validation images the default profile probes with, and the files the first render downloads, with
#: their sizes as their publishers list them (the torchvision sizes are read from torchvision's metadata).
PROBE_IMAGES = 10_000
DOWNLOADS_LISTED = {
    "ResNet-18 Places365 (resnet18_places365.pth.tar, places2.csail.mit.edu)": 45.0,
    "CLIP ViT-B/16 openai (open_clip_pytorch_model.bin, Hugging Face)": 599.0,
    "Places365 validation images (val_256.tar, data.csail.mit.edu)": 501.0,
}


def timed(fn, repeat: int = 1, warm: bool = True) -> float:
    if warm:
        fn()  # warm-up: imports, graph builds
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def method_costs(image, settings) -> dict[str, tuple[float, float]]:
    """Per method: (seconds for one explanation by ResNet-50, the same on a copy with the top 2 blocks random)."""
    import torch
    import torchvision

    from xaireport import models
    from xaireport.methods.registry import METHODS, names
    from xaireport.methods.sanity import blocks, randomize
    from xaireport.results.explanations import options

    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "resnet50-random.pth"
        torch.save(torchvision.models.resnet50().state_dict(), weights)
        clf = models.load("resnet50", weights, device="cpu")
    rclf = randomize(clf, upto=blocks(clf)[1].name, seed=0)
    for warm in (clf, rclf):  # imports, once, before anything is timed (ScoreCAM's one ONNX export is counted)
        METHODS["gradcam"].explain(warm, image, None, progress=False)
    out = {}
    for name in names():
        m = METHODS[name]
        params, speed = options(m, settings)
        trained = timed(
            lambda m=m, p=params, sp=speed: m.explain(clf, image, None, progress=False, **p, **sp), warm=False
        )
        sanity_params = dict(params)
        if "num_samples" in params:
            sanity_params["num_samples"] = settings.sanity.lime_num_samples
        random = timed(
            lambda m=m, p=sanity_params, sp=speed: m.explain(rclf, image, None, progress=False, **p, **sp), warm=False
        )
        out[name] = (trained, random)
        print(f"  {name:22s} trained {trained:7.2f} s   randomized top blocks {random:7.2f} s", flush=True)
    return out, clf


def measure_costs(clf, image, settings) -> dict[str, float]:
    import numpy as np

    from xaireport.methods import evaluation as ev
    from xaireport.methods import faithfulness

    crop = clf.crop(image)
    cam = np.random.default_rng(0).random(crop.shape[:2])
    c = settings.cams
    road = timed(
        lambda: faithfulness.scores(
            clf, crop, cam, 0, percentiles=c.road_percentiles, remove_fraction=c.remove_fraction, seed=0
        )
    )
    x = clf.to_input(crop)
    steps = settings.evaluation.deletion_steps
    causal = timed(lambda: [ev.causal_auc(clf.model, x, cam, 0, mode, steps) for mode in ("deletion", "insertion")])
    return {"road": road, "causal": causal}


def dissection_costs(batch: int = 32, n: int = 64) -> dict[str, float]:
    """Images/s of the CLIP ViT-B/16 image encoder and of a ResNet-18 with its three dissected layers hooked, and
    seconds per 1,000 concepts of the text encoder (random weights)."""
    import open_clip
    import torch
    import torchvision

    model, _, _ = open_clip.create_model_and_transforms("ViT-B-16", pretrained=None)
    model.eval()
    x = torch.randn(batch, 3, 224, 224)
    with torch.inference_mode():
        clip_rate = batch / timed(lambda: model.encode_image(x))
        tok = open_clip.get_tokenizer("ViT-B-16")([f"word {i}" for i in range(256)])
        text_per_1000 = timed(lambda: model.encode_text(tok)) * 1000 / 256
    resnet = torchvision.models.resnet18().eval()
    feats = []
    hooks = [
        getattr(resnet, f"layer{i}").register_forward_hook(lambda m, i, o: feats.append(o.mean((2, 3))))
        for i in (2, 3, 4)
    ]
    with torch.inference_mode():
        resnet_rate = batch / timed(lambda: resnet(x))
    for h in hooks:
        h.remove()
    return {"clip_images_per_s": clip_rate, "resnet18_images_per_s": resnet_rate, "text_s_per_1000": text_per_1000}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip-dissection", action="store_true")
    p.add_argument("--gpu-images-per-s", type=float, default=None)
    args = p.parse_args()
    import torch
    import torchvision

    from xaireport.images import load_image
    from xaireport.methods.registry import names
    from xaireport.settings import load

    torch.set_num_threads(torch.get_num_threads())
    s = load("", ROOT)
    image = load_image(sorted((ROOT / "data/images").glob("*.png"))[0]).array
    n = len([f for f in (ROOT / "data/images").iterdir() if f.suffix in (".png", ".jpg")])
    print(f"measured on this machine, {torch.get_num_threads()} threads, random weights; {n} report images")
    costs, clf = method_costs(image, s)
    m = measure_costs(clf, image, s)
    print(f"  ROAD of one map {m['road']:.2f} s; deletion + insertion of one map {m['causal']:.2f} s")
    seeds, lime_seeds = s.sanity.seeds, max(1, s.lime.stability_seeds)
    steps = 18  # ResNet-50's cascade: fc, 16 bottlenecks, conv1
    cams, sanity_methods = s.cams.methods, s.sanity.methods
    evaluated = s.evaluation.methods or names()
    est = {
        "2 CAM methods": n * sum(costs[c][0] + m["road"] for c in cams),
        "3 LIME": n * lime_seeds * costs["lime"][0],
        "5 Sanity checks": sum(
            (n * seeds + (steps - 1) * s.sanity.cascade_images) * costs[x][1] for x in sanity_methods
        )
        + n * sum(costs[x][1] for x in sanity_methods if x not in cams),
        "6 Which explanation?": sum(
            n * ((1 + s.evaluation.sensitivity_samples) * costs[x][0] + m["road"] + m["causal"])
            + (n * costs[x][0] if x not in cams and x != "lime" else 0)  # its trained maps (chapters 2, 3 have some)
            + (n * seeds * costs[x][1] if x not in sanity_methods else 0)
            + costs[x][0]
            for x in evaluated
        ),
    }
    if not args.skip_dissection:
        d = dissection_costs()
        print(
            f"  CLIP ViT-B/16 image encoder {d['clip_images_per_s']:.1f} images/s; ResNet-18 with hooks "
            f"{d['resnet18_images_per_s']:.1f} images/s; text encoder {d['text_s_per_1000']:.1f} s per 1,000 concepts"
        )
        clip, resnet = PROBE_IMAGES / d["clip_images_per_s"], 2 * PROBE_IMAGES / d["resnet18_images_per_s"]
        est["1 Network dissection"] = clip + resnet + 20 * d["text_s_per_1000"]
    total = sum(est.values())
    print("ESTIMATE for the first `make report` on this CPU (model work only; Quarto and Typst add a few minutes):")
    for k, v in sorted(est.items()):
        print(f"  chapter {k:24s} {v / 60:7.1f} min")
    print(f"  total                            {total / 60:7.1f} min ({total / 3600:.1f} h)")
    sizes = {
        "ResNet-50 IMAGENET1K_V1 (torchvision)": torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["_file_size"],
        "ResNet-18 IMAGENET1K_V1 (torchvision)": torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["_file_size"],
        **DOWNLOADS_LISTED,
    }
    print("downloads (MB):")
    for k, v in sizes.items():
        print(f"  {k:72s} {v:7.1f}")
    print(f"  total {sum(sizes.values()):.0f} MB")
    if args.gpu_images_per_s:
        rate = 1 / timed(lambda: clf.model(clf.to_input(clf.crop(image))), repeat=5)
        factor = rate / args.gpu_images_per_s
        print(
            f"GPU, by your figure of {args.gpu_images_per_s:g} ResNet-50 images/s against this CPU's {rate:.1f} "
            f"(batch 1): about {total * factor / 60:.1f} min, if everything scaled like a forward pass (it does not: "
            "Python, ROAD's sparse solves and LIME's segmentation stay on the CPU)"
        )


if __name__ == "__main__":
    main()
