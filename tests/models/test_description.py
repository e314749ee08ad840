"""Issue 15: a classifier described without loading it (cached description, lazy loading), and the torch-free
crop and overlay a warm page uses."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from xaireport.core.cache import ResultCache
from xaireport.models import description
from xaireport.models.description import ClassifierInfo, LazyClassifier, info_key
from xaireport.models.preprocessing import crop


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "nearest", "lanczos", "box", "hamming"])
def test_crop_equals_torchvision(interpolation):
    import torchvision.transforms.functional as TF
    from PIL import Image

    rng = np.random.default_rng(0)
    for h, w in [(300, 400), (401, 299), (224, 224), (100, 150), (1000, 20)]:
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for resize_to, size in [(256, 224), (235, 224), (224, 224), (200, 224)]:  # 200 < 224: padded
            pil = TF.resize(Image.fromarray(image), resize_to, interpolation=TF.InterpolationMode(interpolation))
            expected = np.asarray(TF.center_crop(pil, [size, size]))
            got = crop(image, resize_to, size, interpolation)
            assert got.shape == (size, size, 3) and np.array_equal(got, expected), (h, w, resize_to)


def test_overlay_equals_grad_cam_show_cam_on_image():
    from pytorch_grad_cam.utils.image import show_cam_on_image

    from xaireport.outputs import overlay

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)
    heat = rng.random((32, 40)).astype(np.float32)
    for weight in (0.3, 0.5, 1.0):
        ref = show_cam_on_image(image.astype(np.float32) / 255.0, heat, use_rgb=True, image_weight=weight)
        assert np.array_equal(overlay(image, heat, weight), ref)


def test_lazy_classifier_answers_from_the_cached_description(tmp_path, lite0, chelsea):
    cache = ResultCache(tmp_path)
    loads = []

    def load():
        loads.append(1)
        return lite0

    key = info_key("efficientnet-lite0", None, None, None)
    first = LazyClassifier(load, cache, key, "cpu")
    assert first.weights_id == lite0.weights_id and loads == [1]  # nothing cached: loaded once, then described
    second = LazyClassifier(load, cache, key, "cpu")
    info = second.info
    assert loads == [1] and not second.is_loaded  # the second kernel: no load
    assert info == ClassifierInfo.of(lite0)
    assert (second.name, second.target_layer_name, second.target_layer_type) == (
        "efficientnet-lite0",
        "bn2",
        "BatchNormAct2d",
    )
    assert second.categories == lite0.categories and second.grid == (7, 7) and second.crop_size == 224
    assert np.array_equal(second.crop(chelsea), lite0.crop(chelsea))
    assert second.model is lite0.model and loads == [1, 1]  # anything else loads the network
    assert description.real(second) is lite0 and description.real(lite0) is lite0


def test_description_key_follows_what_decides_it(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"one")
    classes = tmp_path / "classes.txt"
    classes.write_text("a\nb\n")
    base = info_key("timm:resnet18", weights, classes, None)
    assert base == info_key("timm:resnet18", weights, classes, None)
    assert base != info_key("timm:resnet18", weights, classes, "layer3")
    assert base != info_key("torchvision:resnet18", weights, classes, None)
    classes.write_text("a\nc\n")
    assert base != info_key("timm:resnet18", weights, classes, None)
    classes.write_text("a\nb\n")
    os.utime(weights, ns=(1, 1))  # the same path with another modification time: described again
    assert base != info_key("timm:resnet18", weights, classes, None)
    assert info_key("timm:resnet18", tmp_path / "missing.pt", None, None) is None


def test_damaged_or_foreign_description_is_a_miss(tmp_path):
    cache = ResultCache(tmp_path)
    cache.save(description.KIND, "k", {}, {"name": "x"})  # another version's fields
    assert description.load_info(cache, "k") is None


def test_device_name_without_torch_on_a_machine_without_gpu():
    from xaireport.core import device

    if device._gpu_possible():
        pytest.skip("a GPU may be present here: the name comes from torch")
    code = (
        "import sys; from xaireport.core.device import name; print(name('auto'), name('cpu'), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["cpu", "cpu", "False"]
