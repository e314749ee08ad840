"""Cached explanations (``results/explanations.py``): computed once, read back equal, and keyed by what changes
the map (the method's params, the target, the image, the classifier) but not by its speed options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from xaireport.core.cache import ResultCache
from xaireport.images import LoadedImage
from xaireport.methods import registry
from xaireport.methods.explanations import Explanation
from xaireport.results import explanations

CALLS: list[dict] = []


def explain(classifier, image, target=None, *, progress=True, scale=1.0, batch_size=1):
    """A method whose map is the image's red channel times ``scale``; records every call."""
    CALLS.append({"scale": scale, "batch_size": batch_size, "target": target})
    index = 1 if target is None else int(target)
    red = image[..., 0].astype(np.float32) * scale
    return Explanation("redness", red, index, classifier.categories[index], 0.5, 0.0, parts={"max": red.max()[None]})


@dataclass
class StubClassifier:
    name: str = "stub"
    weights_id: str = "w0"
    target_layer_name: str = "layer"
    categories: list[str] = field(default_factory=lambda: ["cat", "dog"])
    device: str = "cpu"


@pytest.fixture
def method():
    m = registry.register(
        registry.Method(
            "redness", "Redness", "perturbation", __name__, params={"scale": "x"}, speed={"batch_size": "y"}
        )
    )
    CALLS.clear()
    yield m
    registry.METHODS.pop("redness")


def _image(value: int, name: str = "a.png") -> LoadedImage:
    return LoadedImage(Path(name), np.full((4, 5, 3), value, np.uint8), digest=f"d{value}")


def test_an_explanation_is_computed_once_and_read_back_equal(tmp_path, method):
    cache, clf = ResultCache(tmp_path), StubClassifier()
    first = explanations.cached_explanation(cache, clf, _image(10), method, {"scale": 2.0}, speed={"batch_size": 4})
    again = explanations.cached_explanation(cache, clf, _image(10), method, {"scale": 2.0}, speed={"batch_size": 8})
    assert len(CALLS) == 1 and CALLS[0] == {"scale": 2.0, "batch_size": 4, "target": None}  # speed: not in the key
    assert np.array_equal(again.map, np.full((4, 5), 20.0, np.float32)) and again.map.dtype == np.float32
    assert (again.class_index, again.class_name, again.score) == (1, "dog", 0.5)
    assert again.parts.keys() == {"max"} and again.parts["max"].tolist() == [20.0]
    assert again.method == first.method == "redness" and not again.signed


@pytest.mark.parametrize(
    "change",
    [
        {"params": {"scale": 3.0}},
        {"target": 0},
        {"image": 11},
        {"classifier": StubClassifier(weights_id="w1")},
        {"classifier": StubClassifier(categories=["cat", "wolf"])},
    ],
)
def test_anything_that_changes_the_map_recomputes_it(tmp_path, method, change):
    cache = ResultCache(tmp_path)
    base = {"params": {"scale": 2.0}, "target": None, "image": 10, "classifier": StubClassifier()}

    def run(a):
        return explanations.cached_explanation(
            cache, a["classifier"], _image(a["image"]), method, a["params"], a["target"]
        )

    run(base)
    changed = run({**base, **change})
    assert len(CALLS) == 2
    run({**base, **change})  # and that one is cached in turn
    assert len(CALLS) == 2
    if "params" in change:
        assert changed.map[0, 0] == 30.0


def test_options_read_the_settings_a_method_names(method):
    class Settings:
        def value(self, dotted):
            return {"x": 1.5, "y": 16}[dotted]

    assert explanations.options(method, Settings()) == ({"scale": 1.5}, {"batch_size": 16})
    assert explanations.options(method, Settings(), scale=4.0) == ({"scale": 4.0}, {"batch_size": 16})
    with pytest.raises(ValueError, match="redness has no parameter seed"):
        explanations.options(method, Settings(), seed=1)
