"""Library models by name (``timm:``/``torchvision:``): fine-tuned checkpoints in every common layout, class-name
files, the target-layer setting, and the ``models``/``check`` commands; all offline (random or saved weights)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import run_xaireport
from xaireport import models
from xaireport.core.errors import UserError
from xaireport.models import anatomy

CLASSES = [f"part {c}" for c in "abcdefghij"]


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory) -> dict[str, Path]:
    """A 10-class timm ResNet-18 saved three ways (bare, nested under state_dict with DataParallel's prefix, nested
    under model), its classes file, and the tensors it was saved from."""
    import timm

    torch.manual_seed(3)
    net = timm.create_model("resnet18", pretrained=False, num_classes=10)
    state = net.state_dict()
    d = tmp_path_factory.mktemp("finetuned")
    torch.save(state, d / "bare.pth")
    torch.save({"epoch": 7, "state_dict": {f"module.{k}": v for k, v in state.items()}}, d / "ddp.pth.tar")
    torch.save({"model": state, "optimizer": {}}, d / "model.pt")
    (d / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    return {"dir": d, "bare": d / "bare.pth", "ddp": d / "ddp.pth.tar", "model": d / "model.pt"}


@pytest.mark.parametrize("layout", ["bare", "ddp", "model"])
def test_finetuned_checkpoint_layouts_load_with_ten_classes(finetuned, layout):
    clf = models.load("timm:resnet18", finetuned[layout], device="cpu", classes=finetuned["dir"] / "classes.txt")
    assert clf.categories == CLASSES and clf.label_set == "custom"
    assert clf.model.get_classifier().out_features == 10
    saved = torch.load(finetuned["bare"], weights_only=True)
    assert torch.equal(clf.model.state_dict()["fc.weight"], saved["fc.weight"])
    assert clf.target_layer_name == "layer4" and clf.head is not None
    assert len(clf.weights_id) == 64


def test_classes_file_count_must_match_the_model(finetuned, tmp_path):
    bad = tmp_path / "nine.txt"
    bad.write_text("\n".join(CLASSES[:9]))
    with pytest.raises(UserError, match=r"nine.txt: 9 class names for a model with 10 outputs"):
        models.load("timm:resnet18", finetuned["bare"], device="cpu", classes=bad)


def test_weights_for_another_architecture_is_one_clear_error(finetuned):
    expected = r"these are not torchvision:mobilenet_v3_small weights \(\d+ missing: .*basic-block"
    with pytest.raises(UserError, match=expected):
        models.load("torchvision:mobilenet_v3_small", finetuned["bare"], device="cpu")


def test_unknown_library_names_suggest_close_ones():
    with pytest.raises(UserError, match=r"timm has no model 'resnet181'.*timm:resnet18"):
        models.check_model_name("timm:resnet181")
    with pytest.raises(UserError, match=r"unknown model prefix 'keras'"):
        models.check_model_name("keras:resnet50")
    assert models.is_model_name("torchvision:vgg11") and models.is_model_name("timm:resnet18.a1_in1k")
    assert not models.is_model_name("torchvision:vgg12")


def test_target_layer_setting_overrides_detection_and_rederives_the_head():
    clf = models.load("torchvision:resnet18", random_init=True, device="cpu", target_layer="layer3")
    assert clf.target_layer_name == "layer3"
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert clf.head is not None and torch.allclose(clf.head(clf.features(x)), clf.model(x), atol=1e-5)
    # Inside a residual block the rest of the network also reads the block's input: no head, never a wrong one.
    inner = models.load("torchvision:resnet18", random_init=True, device="cpu", target_layer="layer4.0.conv1")
    assert inner.head is None
    with pytest.raises(UserError, match=r"target layer 'layer5' is not a module of ResNet; close names: layer"):
        models.load("torchvision:resnet18", random_init=True, device="cpu", target_layer="layer5")


def test_fx_head_reproduces_the_model_above_the_layer():
    net = models.load("torchvision:densenet121", random_init=True, device="cpu")
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        a = net.features(x)
        assert torch.allclose(net.head(a), net.model(x), atol=1e-5)


def test_transformers_get_the_documented_reshape():
    vit = models.load("timm:vit_tiny_patch16_224", random_init=True, device="cpu")
    tokens = torch.arange(2 * 197 * 3, dtype=torch.float32).reshape(2, 197, 3)
    grid = vit.reshape_transform(tokens)
    assert grid.shape == (2, 3, 14, 14)
    assert torch.equal(grid[1, :, 0, 1], tokens[1, 2])  # class token dropped, row-major patches
    swin = anatomy.nhwc_to_nchw(torch.zeros(1, 7, 5, 9))
    assert swin.shape == (1, 9, 7, 5)


def test_preprocessing_comes_from_the_model_config():
    clf = models.load("timm:resnet18", random_init=True, device="cpu")
    assert (clf.crop_size, clf.resize_to, clf.interpolation) == (224, 235, "bicubic")  # crop_pct 0.95
    clf = models.load("torchvision:convnext_tiny", random_init=True, device="cpu")
    assert (clf.crop_size, clf.resize_to, clf.interpolation) == (224, 236, "bilinear")


@pytest.mark.slow
def test_cli_finetuned_checkpoint_end_to_end(finetuned, root, tmp_path):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    shutil.copy(root / "data/images/chelsea.png", imgs)
    model = ["--model", "timm:resnet18", "--weights", str(finetuned["ddp"])]
    classes = ["--classes", str(finetuned["dir"] / "classes.txt")]
    r = run_xaireport(["check", "--profile", "offline", "--images", str(imgs), *model, *classes], cwd=root)
    assert r.returncode == 0, r.stderr
    assert "layer     layer4" in r.stdout and "classes   10 (custom): part a, part b" in r.stdout
    assert "head      forward_head (checked" in r.stdout
    out = tmp_path / "out"
    r = run_xaireport(
        ["cams", "--profile", "offline", "--images", str(imgs), *model, *classes, "--methods", "gradcam,ablationcam",
         "--out", str(out)],
        cwd=root,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    row = (out / "predictions.csv").read_text().splitlines()[1].split(",")
    assert row[0] == "chelsea.png" and row[2] in CLASSES and 0 < float(row[3]) <= 1
    maps = [np.load(out / m / "chelsea.npy") for m in ("gradcam", "ablationcam")]
    assert all(m.shape == (224, 224) and m.max() > m.min() for m in maps)
    assert Image.open(out / "gradcam" / "chelsea-mask.png").size == (224, 224)
    r = run_xaireport(["lime", "--profile", "offline", "--images", str(imgs), *model, *classes,
                       "--num-samples", "20", "--out", str(tmp_path / "lime")], cwd=root)  # fmt: skip
    assert r.returncode == 0, r.stderr


def test_cli_models_lists_library_names(root):
    r = run_xaireport(["models", "--filter", "convnext_at"], cwd=root)
    assert r.returncode == 0
    assert "timm:convnext_atto" in r.stdout.splitlines()
    assert r.stdout.splitlines()[-1].startswith("# ") and "matching 'convnext_at'" in r.stdout
    r = run_xaireport(["models", "--filter", "vgg1"], cwd=root)
    assert "torchvision:vgg11" in r.stdout.splitlines() and "resnet50" not in r.stdout.splitlines()


def test_cli_bad_classes_file_and_layer_are_one_line(finetuned, root, tmp_path):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    shutil.copy(root / "data/images/chelsea.png", imgs)
    base = ["check", "--profile", "offline", "--images", str(imgs), "--model", "timm:resnet18"]
    r = run_xaireport([*base, "--weights", str(finetuned["bare"]), "--classes", str(tmp_path / "none.txt")], cwd=root)
    assert r.returncode == 2 and "none.txt: classes file not found" in r.stderr and "Traceback" not in r.stderr
    r = run_xaireport([*base, "--weights", str(finetuned["bare"]), "--target-layer", "layer9"], cwd=root)
    assert r.returncode == 2 and "target layer 'layer9'" in r.stderr and "Traceback" not in r.stderr
    if not _online():
        r = run_xaireport(base, cwd=root)
        assert r.returncode == 2 and r.stderr.splitlines()[-1].startswith(
            "xaireport: error: timm:resnet18: cannot get timm's pretrained weights from https://huggingface.co/timm/resnet18"
        )
        assert len(r.stderr.splitlines()) == 2 and "Traceback" not in r.stderr  # 'loading' + the error
    r = run_xaireport([*base, "--weights", str(finetuned["bare"]), "--target-layer", "layer3"], cwd=root)
    assert r.returncode == 0, r.stderr  # forward_head does not fit layer3's output; the fx cut after it does
    assert "head      fx graph after the layer: layer4 → global_pool → fc (checked" in r.stdout


def _online() -> bool:
    import socket

    try:
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
    except OSError:
        return False
    return True
