"""Library models of many families (random weights, no download): the detected target layer is the documented
one, and Grad-CAM, AblationCAM and ScoreCAM equal the ``grad-cam`` package's on that layer; LIME runs.
(EfficientNet is covered by the offline model, timm's ``tf_efficientnet_lite0``, in tests/methods/test_cams.py.)"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from pytorch_grad_cam import AblationCAM, GradCAM, ScoreCAM
from pytorch_grad_cam.ablation_layer import AblationLayerVit
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from skimage import data

from xaireport import models
from xaireport.methods.registry import explain

# name → (documented target layer, has a head for the fast AblationCAM, the layer's output is post-ReLU)
FAMILIES = {
    "timm:resnet18": ("layer4", True, True),
    "timm:convnext_atto": ("stages", True, False),
    "timm:mobilenetv3_small_100": ("blocks", True, False),
    "timm:regnetx_002": ("s4", True, True),
    "timm:vit_tiny_patch16_224": ("blocks.11.norm1", False, False),
    "torchvision:densenet121": ("features", True, False),
    "torchvision:vgg11": ("features", True, True),
    "torchvision:mobilenet_v3_small": ("features", True, False),
}
CNN_SIZE = 64  # CNNs are explained at 64 px here to keep the per-channel methods fast; ViT needs its 224


def small(clf: models.Classifier) -> models.Classifier:
    if clf.reshape_transform is not None:
        return clf
    return dataclasses.replace(clf, crop_size=CNN_SIZE, resize_to=CNN_SIZE)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return data.chelsea()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_target_layer_and_maps_equal_the_package(name: str, image: np.ndarray) -> None:
    layer, has_head, post_relu = FAMILIES[name]
    clf = small(models.load(name, random_init=True, seed=1, device="cpu"))
    assert clf.target_layer_name == layer
    assert (clf.head is not None) == has_head
    x = clf.preprocess(image)
    with torch.no_grad():
        index = int(clf.model(x).argmax())
    targets = [ClassifierOutputTarget(index)]
    kw = {"reshape_transform": clf.reshape_transform}
    tokens = clf.reshape_transform is not None

    ours = explain(clf, image, "gradcam", index, progress=False).map
    with GradCAM(clf.model, [clf.target_layer], **kw) as cam:
        ref = cam(x.clone().requires_grad_(True), targets)[0]
    assert np.abs(ours - ref).max() <= 1e-3
    assert ours.max() - ours.min() > 0.1, "a flat map would make the comparison empty"

    ours = explain(clf, image, "ablationcam", index, progress=False).map
    # Layers that are not post-ReLU: batch 1, so the package's ablation value does not drift with the position
    # in its batch (see methods/cams/ablationcam.py); on post-ReLU layers any batch agrees exactly.
    extra = {"ablation_layer": AblationLayerVit()} if tokens else {}
    batch = 32 if post_relu or tokens else 1
    with AblationCAM(clf.model, [clf.target_layer], batch_size=batch, **kw, **extra) as cam:
        ref = cam(x, targets)[0]
    assert np.abs(ours - ref).max() <= 1e-3

    ours = explain(clf, image, "scorecam", index, progress=False).map
    with ScoreCAM(clf.model, [clf.target_layer], **kw) as cam:
        cam.batch_size = 64
        ref = cam(x, targets)[0]
    assert np.abs(ours - ref).max() <= 1e-3


@pytest.mark.slow
def test_lime_runs_on_a_library_model(image: np.ndarray) -> None:
    from xaireport.methods.lime import explain as lime_explain

    clf = small(models.load("timm:convnext_atto", random_init=True, device="cpu"))
    exp = lime_explain(clf, image, num_samples=20, seed=0, batch_size=10)
    assert exp.heatmap.shape == (CNN_SIZE, CNN_SIZE)
    assert exp.parts["mask"].any()
