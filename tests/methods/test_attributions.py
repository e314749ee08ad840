"""Captum's attributions registered as they are (``methods/attributions.py``): each map equals Captum's own method
called with the same arguments (reduced over the colour channels as documented), on two architectures (a small
CNN and EfficientNet-Lite0); Guided Backprop also rewrites ReLU6, which Captum leaves alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import GradientShap, GuidedBackprop, IntegratedGradients, Occlusion, Saliency
from test_cams import tiny  # noqa: F401 - the fixture (a small CNN)
from torch import nn

from xaireport.methods import attributions, registry
from xaireport.methods.registry import explain
from xaireport.models import Classifier

#: Equal to the library within this (float32 sums of up to 50 gradient steps).
ATOL = 1e-4

OPTIONS = {
    "saliency": {},
    "integrated_gradients": {"steps": 8, "baseline": "black", "batch_size": 4},
    "gradient_shap": {"samples": 4, "stdev": 0.1, "seed": 3},
    "guided_backprop": {},
    "occlusion": {"window": 56, "stride": 56, "baseline": "black", "batch_size": 8},
}


def _captum(name: str, clf: Classifier, image: np.ndarray, target: int) -> np.ndarray:
    """The library's own call, reduced as our module documents."""
    x = clf.preprocess(image)
    o = OPTIONS[name]
    black = attributions.baseline_image(clf, x, "black")
    if name == "saliency":
        a = Saliency(clf.model).attribute(x, target=target, abs=True)[0].numpy()
        m = np.abs(a).max(axis=0)
        return m / m.max()
    if name == "integrated_gradients":
        a = IntegratedGradients(clf.model).attribute(
            x, baselines=black, target=target, n_steps=o["steps"], internal_batch_size=o["batch_size"]
        )
    elif name == "gradient_shap":
        torch.manual_seed(o["seed"])
        np.random.seed(o["seed"])
        refs = torch.cat([black, torch.zeros_like(x)])
        a = GradientShap(clf.model).attribute(
            x, baselines=refs, n_samples=o["samples"], stdevs=o["stdev"], target=target
        )
    elif name == "guided_backprop":
        with attributions.out_of_place(clf.model):
            a = GuidedBackprop(clf.model).attribute(x, target=target)
        return a.detach()[0].abs().sum(dim=0).numpy()  # Adebayo et al.'s aggregation: sum of |a| over channels
    else:
        a = Occlusion(clf.model).attribute(
            x, sliding_window_shapes=(3, 56, 56), strides=(3, 56, 56), baselines=black, target=target
        )
    return a.detach()[0].sum(dim=0).numpy()


@pytest.mark.parametrize("name", list(OPTIONS))
def test_each_attribution_equals_captum_on_a_small_cnn(tiny, chelsea, name):  # noqa: F811
    ours = explain(tiny, chelsea, name, progress=False, **OPTIONS[name])
    assert ours.map.shape == (224, 224) and ours.map.dtype == np.float32
    assert ours.signed == (name not in ("saliency", "guided_backprop")) and registry.get(name).function == name
    assert registry.get(name).signed == ours.signed
    if not ours.signed:
        assert ours.map.min() >= 0
    assert np.abs(ours.map - _captum(name, tiny, chelsea, ours.class_index)).max() <= ATOL
    assert np.abs(ours.map).max() > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["saliency", "integrated_gradients", "gradient_shap", "occlusion"])
def test_each_attribution_equals_captum_on_efficientnet_lite0(lite0, chelsea, name):
    ours = explain(lite0, chelsea, name, progress=False, **OPTIONS[name])
    assert np.abs(ours.map - _captum(name, lite0, chelsea, ours.class_index)).max() <= ATOL


def test_integrated_gradients_is_complete_up_to_the_integration_error(tiny, chelsea):  # noqa: F811
    """Completeness (Sundararajan et al.): the attributions sum to logit(x) − logit(baseline)."""
    e = explain(tiny, chelsea, "integrated_gradients", progress=False, steps=64, baseline="black", batch_size=16)
    x = tiny.preprocess(chelsea)
    with torch.no_grad():
        gap = float(
            tiny.model(x)[0, e.class_index]
            - tiny.model(attributions.baseline_image(tiny, x, "black"))[0, e.class_index]
        )
    assert float(e.map.sum()) == pytest.approx(gap, rel=0.02, abs=1e-3)


class Relu6Net(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU6(inplace=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.act(self.conv(x)).mean(dim=(2, 3)))


def test_guided_backprop_rewrites_relu6_as_relu_and_restores_in_place_activations():
    """By hand: the guided gradient at the ReLU6 input is relu(upstream gradient) where 0 < z < 6, else 0; Captum's
    own GuidedBackprop leaves ReLU6 alone (the plain gradient)."""
    net = Relu6Net().eval()
    clf = Classifier(
        name="relu6", model=net, target_layer=net.conv, categories=["a", "b"], mean=(0.5,) * 3, std=(0.5,) * 3,
        device=torch.device("cpu"), weights_id="relu6", resize_to=8, crop_size=8, features=net.conv, head=None,
    )  # fmt: skip
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    ours = explain(clf, image, "guided_backprop", 1, progress=False)
    x = clf.preprocess(image).requires_grad_(True)
    z = net.conv(x)
    upstream = net.fc.weight[1].view(1, 4, 1, 1).expand_as(z) / 64  # d logit_1 / d relu6(z): mean over 8 x 8
    guided = torch.relu(upstream) * ((z > 0) & (z < 6))
    (by_hand,) = torch.autograd.grad(z, x, guided)
    assert np.abs(ours.map - by_hand[0].abs().sum(0).detach().numpy()).max() <= 1e-6
    (plain,) = torch.autograd.grad(net(x)[0, 1], x)
    assert np.abs(ours.map - plain[0].abs().sum(0).detach().numpy()).max() > 1e-4  # ReLU6 was rewritten
    assert net.act.inplace is True  # restored
