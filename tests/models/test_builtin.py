from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from xaireport import models
from xaireport.core.errors import UserError


@pytest.mark.parametrize("stem, expected", [("chelsea", "tiger cat"), ("coffee", "espresso")])
def test_offline_classifier_recognises_bundled_photos(lite0, root, stem, expected):
    from xaireport.images import load_image

    path = next((root / "data/images").glob(f"{stem}.*"))
    probs = lite0.probabilities(load_image(path).array)
    assert probs.shape == (1000,) and abs(probs.sum() - 1) < 1e-4
    assert lite0.categories[int(probs.argmax())] == expected


def test_classifier_interface(lite0, chelsea):
    crop = lite0.crop(chelsea)
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
    x = lite0.preprocess(chelsea)
    assert x.shape == (1, 3, 224, 224) and x.device == lite0.device
    assert float(x.min()) >= -1.0001 and float(x.max()) <= 1.0001  # mean = std = 0.5
    assert lite0.target_layer is lite0.model.bn2
    assert not lite0.model.training and len(lite0.categories) == 1000
    with torch.inference_mode():
        assert torch.allclose(lite0.head(lite0.features(x)), lite0.model(x), atol=1e-5)


def test_preprocessing_equals_the_models_reference_transform(lite0, chelsea):
    """crop + normalize = timm's eval transform of the model's pretrained config (bicubic for Lite0)."""
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    assert lite0.interpolation == "bicubic" and (lite0.resize_to, lite0.crop_size) == (256, 224)
    ref = create_transform(**resolve_data_config({}, model=lite0.model))(Image.fromarray(chelsea))
    ours = lite0.normalize(torch.from_numpy(lite0.crop(chelsea)).permute(2, 0, 1).float() / 255)
    assert torch.allclose(ours, ref, atol=1e-5)
    assert torch.allclose(lite0.preprocess(chelsea)[0], ref, atol=1e-5)


def test_resnet_preprocessing_equals_torchvision_weights_transforms(chelsea):
    from PIL import Image
    from torchvision.models import ResNet50_Weights

    clf = models.load("resnet50", random_init=True, device="cpu")
    ref = ResNet50_Weights.IMAGENET1K_V1.transforms()(Image.fromarray(chelsea))
    assert clf.interpolation == "bilinear" and clf.mean == (0.485, 0.456, 0.406)
    assert torch.allclose(clf.preprocess(chelsea)[0], ref, atol=1e-5)


def test_classifier_model_works_with_the_gradcam_package_as_its_readme_uses_it(lite0, chelsea):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    assert all(p.requires_grad for p in lite0.model.parameters())
    with GradCAM(model=lite0.model, target_layers=[lite0.target_layer]) as cam:
        m = cam(input_tensor=lite0.preprocess(chelsea), targets=[ClassifierOutputTarget(285)])
    assert m.shape == (1, 224, 224) and m.max() > 0


def test_tiny_image_is_upscaled(lite0):
    assert lite0.crop(np.zeros((5, 9, 3), np.uint8)).shape == (224, 224, 3)


@pytest.mark.parametrize(
    "name, layer_channels, classes",
    [("resnet18", 512, 1000), ("resnet50", 2048, 1000), ("resnet18-places365", 512, 365)],
)
def test_resnet_parts_compose(name, layer_channels, classes):
    clf = models.load(name, random_init=True, seed=1, device="cpu")
    assert clf.weights_id == "random-1" and clf.target_layer is clf.model.layer4[-1]
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        a = clf.features(x)
        assert a.shape == (2, layer_channels, 7, 7)
        assert torch.allclose(clf.head(a), clf.model(x), atol=1e-5)
        assert clf.model(x).shape == (2, classes)


def test_local_torchvision_state_dict_and_places_checkpoint(tmp_path):
    m = models.load("resnet18", random_init=True, seed=3, device="cpu")
    path = tmp_path / "r18.pth"
    torch.save(m.model.state_dict(), path)
    again = models.load("resnet18", weights=path, device="cpu")
    assert torch.equal(again.model.fc.weight, m.model.fc.weight) and len(again.weights_id) == 64

    places = models.load("resnet18-places365", random_init=True, seed=4, device="cpu")
    ckpt = tmp_path / "resnet18_places365.pth.tar"
    torch.save(
        {
            "epoch": 90,
            "arch": "resnet18",
            "state_dict": {f"module.{k}": v for k, v in places.model.state_dict().items()},
        },
        ckpt,
    )
    cats = tmp_path / "categories_places365.txt"
    cats.write_text("\n".join(f"/{chr(97 + i % 26)}/place_{i}/indoor {i}" for i in range(365)))
    loaded = models.load("resnet18-places365", weights=ckpt, categories=cats, device="cpu")
    assert torch.equal(loaded.model.fc.weight, places.model.fc.weight)
    assert loaded.categories[3] == "place 3 indoor"


def test_wrong_weights_file_is_one_clear_error(tmp_path):
    m = models.load("resnet18", random_init=True, device="cpu")
    path = tmp_path / "r18.pth"
    torch.save(m.model.state_dict(), path)
    with pytest.raises(UserError, match="these are not resnet50 weights") as err:
        models.load("resnet50", weights=path, device="cpu")
    msg = str(err.value)
    assert len(msg) < 600 and "\n" not in msg  # a summary, not torch's 4,000-character key list
    assert re.search(r"\d+ missing: layer1\.0\.conv3\.weight", msg) and "wrong shape" in msg
    assert "looks like a basic-block ResNet (ResNet-18/34), 1000 classes" in msg
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(UserError, match="cannot be read as a PyTorch weights file"):
        models.load("resnet18", weights=tmp_path / "junk.pth", device="cpu")
    with pytest.raises(UserError, match="weights file not found"):
        models.load("resnet18", weights=tmp_path / "missing.pth", device="cpu")
    with pytest.raises(UserError, match="unknown model 'vgg16'"):
        models.load("vgg16")


def test_offline_download_error_names_url_and_destination(tmp_path, monkeypatch):
    """With no network (CI) the error names the URL and where to place the file; online it downloads."""
    import urllib.error

    def no_network(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(UserError) as info:
        models.load("resnet50", device="cpu")
    msg = str(info.value)
    assert "https://download.pytorch.org/models/resnet50-0676ba61.pth" in msg
    assert str(tmp_path / "hub/checkpoints/resnet50-0676ba61.pth") in msg
    with pytest.raises(UserError, match="resnet18_places365.pth.tar"):
        models.load("resnet18-places365", device="cpu")


def test_places_download_uses_hub_cache_file(tmp_path, monkeypatch):
    """A file already placed at the announced path is used without any download."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ckdir = tmp_path / "hub/checkpoints"
    ckdir.mkdir(parents=True)
    places = models.load("resnet18-places365", random_init=True, seed=5, device="cpu")
    torch.save({"state_dict": places.model.state_dict()}, ckdir / "resnet18_places365.pth.tar")
    (ckdir / "categories_places365.txt").write_text("\n".join(f"/a/p{i} {i}" for i in range(365)))
    loaded = models.load("resnet18-places365", device="cpu")
    assert torch.equal(loaded.model.conv1.weight, places.model.conv1.weight)
    assert loaded.categories[0] == "p0"
