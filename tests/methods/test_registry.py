"""The contract every registered explanation method keeps (methods/registry.py), in the spirit of Captum's
``tests/helpers/test_config.py``: one test per contract clause, parametrized over the registry at collection time,
on a tiny CNN with fixed weights. A new method — built-in or registered by a plug-in imported before the tests are
collected — is tested by being registered (issue 35).

The clauses: the map is float32, crop-sized and finite; the requested class is the one explained (with its name and
softmax probability); the same inputs and seed give the same map; the ``signed`` flag is honest (an unsigned map is
never negative and lies in [0, 1], and the explanation says what the registry says); the parameters the registry
names are settings that exist."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xaireport.methods.registry import METHODS, Method
from xaireport.models import Classifier
from xaireport.results.explanations import options
from xaireport.settings import Settings

CROP = 64  # pixels of the tiny model's input; its target layer is a 4 × 4 grid
CLASSES = 6


class TinyCNN(nn.Module):
    """Three convolutions (stride 2 each, the last one the target layer, post-ReLU), global pooling, a linear head;
    seeded weights with positive logits and half the channels evidence for every class."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(35)
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU()
        )
        self.last = nn.Sequential(nn.Conv2d(16, 16, 3, stride=4, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, CLASSES)
        with torch.no_grad():
            self.fc.bias.add_(3.0)
            self.fc.weight.mul_(10.0)
            self.fc.weight[:, :8].abs_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.last(self.body(x))), 1))


@pytest.fixture(scope="module")
def tiny() -> Classifier:
    m = TinyCNN().eval()
    return Classifier(
        name="tiny-contract",
        model=m,
        target_layer=m.last,
        categories=[f"class {i}" for i in range(CLASSES)],
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        device=torch.device("cpu"),
        features=lambda x: m.last(m.body(x)),
        head=lambda a: m.fc(torch.flatten(m.pool(a), 1)),
        weights_id="tiny-contract",
        resize_to=CROP,
        crop_size=CROP,
    )


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """A 80 × 96 RGB image with structure (a bright disc on a gradient) for the superpixels and the gradients."""
    y, x = np.mgrid[:80, :96]
    disc = ((y - 40) ** 2 + (x - 60) ** 2 < 300).astype(np.float64)
    rgb = np.stack([x / 96 * 200 + disc * 55, y / 80 * 150 + disc * 100, 255 - x / 96 * 200], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


REGISTERED = list(METHODS.values())
IDS = [m.name for m in REGISTERED]


def _explain(method: Method, clf: Classifier, image: np.ndarray, target: int | None):
    params, speed = options(method, Settings())  # the defaults of every setting the method reads
    return method.explain(clf, image, target, progress=False, **params, **speed)


@pytest.fixture(scope="module")
def explained(tiny, image):
    """Per method, computed on first use: (explanation of the top-1 class, again, explanation of class 2)."""
    memo: dict[str, tuple] = {}

    def get(method: Method):
        if method.name not in memo:
            memo[method.name] = tuple(_explain(method, tiny, image, t) for t in (None, None, 2))
        return memo[method.name]

    return get


def test_the_registry_lists_every_family():
    assert {m.family for m in REGISTERED} == {"CAM", "perturbation", "gradient"} and len(REGISTERED) >= 14


@pytest.mark.parametrize("method", REGISTERED, ids=IDS)
def test_the_map_is_a_finite_float32_crop(method, explained, tiny):
    e, _, _ = explained(method)
    assert e.method == method.name
    assert e.map.shape == (tiny.crop_size, tiny.crop_size) and e.map.dtype == np.float32
    assert np.isfinite(e.map).all() and e.seconds >= 0


@pytest.mark.parametrize("method", REGISTERED, ids=IDS)
def test_the_requested_class_is_explained(method, explained, tiny, image):
    top, _, other = explained(method)
    probs = tiny.probabilities(image)
    assert top.class_index == int(probs.argmax()) != 2  # the default: the top-1 class
    assert other.class_index == 2 and other.class_name == "class 2"
    assert other.score == pytest.approx(float(probs[2]), abs=1e-5)


@pytest.mark.parametrize("method", REGISTERED, ids=IDS)
def test_the_same_inputs_give_the_same_map(method, explained):
    first, again, _ = explained(method)
    np.testing.assert_array_equal(first.map, again.map)


@pytest.mark.parametrize("method", REGISTERED, ids=IDS)
def test_the_signed_flag_is_honest(method, explained):
    for e in explained(method):
        assert e.signed == method.signed
        if not method.signed:  # positive evidence only, scaled to [0, 1]
            assert e.map.min() >= 0.0 and e.map.max() <= 1.0 + 1e-6


@pytest.mark.parametrize("method", REGISTERED, ids=IDS)
def test_the_parameters_it_reads_are_settings(method):
    settings = Settings()
    for keyword, dotted in {**method.params, **method.speed}.items():
        settings.value(dotted)  # raises KeyError for a setting that does not exist
        assert keyword.isidentifier()
    assert method.family in {"CAM", "perturbation", "gradient"} and method.supports <= {"cnn", "vit"}
