"""One contract over the measure registry (issue 35), as ``test_registry.py`` is for the methods: every registered
measure is computed on a tiny model whose evidence is known, for a method that should score well and one that
should score badly on the measure's category, and must order them as its ``better`` says. A new measure is tested
by being registered (in a category this file has a case for).

The tiny model's class 0 logit is the mean red value of the top-left quadrant (class 1: minus it), so the
quadrant is the whole evidence for class 0."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from xaireport.methods import measures as registry
from xaireport.methods.explanations import Explanation
from xaireport.methods.registry import METHODS, Method
from xaireport.models import Classifier

SIZE = 32


class Quadrant(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        red = x[:, 0, : SIZE // 2, : SIZE // 2].mean(dim=(1, 2))
        return torch.stack([red, -red], dim=1)


def quadrant_classifier() -> Classifier:
    m = Quadrant().eval()
    return Classifier(
        name="quadrant", model=m, target_layer=m, categories=["red quadrant", "not"], mean=(0.5,) * 3,
        std=(0.25,) * 3, device=torch.device("cpu"), features=lambda x: x, head=None, weights_id="quadrant",
        resize_to=SIZE, crop_size=SIZE,
    )  # fmt: skip


def _region(target: int | None) -> np.ndarray:
    m = np.zeros((SIZE, SIZE), np.float32)
    m[: SIZE // 2, : SIZE // 2] = 1.0
    return m if target in (None, 0) else 1.0 - m


def _explanation(name: str, classifier: Classifier, image: np.ndarray, target: int | None, m: np.ndarray):
    probs = classifier.probabilities(image)
    index = int(probs.argmax()) if target is None else int(target)
    return Explanation(name, m.astype(np.float32), index, classifier.categories[index], float(probs[index]), 0.0)


# The methods of the cases: each explains the tiny model in a known good or bad way.
def region(classifier, image, target=None, *, progress=True):  # the evidence, and the other class's for class 1
    return _explanation("contract_region", classifier, image, target, _region(target))


def complement(classifier, image, target=None, *, progress=True):  # everything but the evidence
    return _explanation("contract_complement", classifier, image, target, 1.0 - _region(0))


def same_for_every_class(classifier, image, target=None, *, progress=True):
    return _explanation("contract_same", classifier, image, target, _region(0))


def noise(classifier, image, target=None, *, progress=True):  # a new map for every input
    rng = np.random.default_rng(abs(hash(image.tobytes())) % 2**32)
    return _explanation("contract_noise", classifier, image, target, rng.random((SIZE, SIZE)))


def uniform(classifier, image, target=None, *, progress=True):
    return _explanation("contract_uniform", classifier, image, target, np.ones((SIZE, SIZE)))


def slow_and_heavy(classifier, image, target=None, *, progress=True):
    block = np.ones(64 * 2**20 // 8)  # 64 MB, touched
    time.sleep(0.05)
    return _explanation("contract_slow", classifier, image, target, _region(target) * float(block[-1]))


#: Per category: (a method that should score well, one that should score badly).
CASES = {
    "faithfulness": ("region", "complement"),
    "randomisation": ("region", "same_for_every_class"),
    "robustness": ("region", "noise"),
    "complexity": ("region", "uniform"),
    "cost": ("region", "slow_and_heavy"),
}


@pytest.fixture()
def contract_methods(monkeypatch):
    for name in {n for pair in CASES.values() for n in pair}:
        monkeypatch.setitem(
            METHODS, f"contract_{name}", Method(f"contract_{name}", name, "CAM", __name__, function=name)
        )


def _image(tmp_path):
    from xaireport.images import load_image

    a = np.full((SIZE, SIZE, 3), 128, np.uint8)
    a[: SIZE // 2, : SIZE // 2] = (230, 40, 40)  # a red quadrant: the evidence for class 0
    Image.fromarray(a).save(tmp_path / "quadrant.png")
    return load_image(tmp_path / "quadrant.png")


def _value(measure, method: str, tmp_path, settings) -> float:
    from xaireport.core.cache import ResultCache
    from xaireport.results.measures import ImageContext

    clf = quadrant_classifier()
    image = _image(tmp_path)
    m = METHODS[f"contract_{method}"]
    e = m.explain(clf, image.array, None, progress=False)
    ctx = ImageContext(settings, ResultCache(tmp_path / f"cache-{method}"), clf, clf, m, {}, {}, image, e)
    return float(measure.compute(ctx))


def _settings():
    from xaireport.settings import load

    return load(
        "",
        None,
        overrides={"cams.road_percentiles": [25, 50, 75], "evaluation.deletion_steps": 8,
                   "evaluation.sensitivity_samples": 3, "evaluation.sensitivity_radius": 0.3},
    )  # fmt: skip


@pytest.mark.parametrize("name", [n for n, m in registry.MEASURES.items() if m.scope == "image"])
def test_every_image_measure_orders_a_good_and_a_bad_method_as_it_says(
    name, tmp_path, contract_methods, project, monkeypatch
):
    measure = registry.MEASURES[name]
    assert measure.category in CASES, f"{name}: add a case for category {measure.category!r} to this test"
    good, bad = CASES[measure.category]
    monkeypatch.chdir(project)
    settings = _settings()
    g, b = _value(measure, good, tmp_path, settings), _value(measure, bad, tmp_path, settings)
    assert np.isfinite(g) and np.isfinite(b)
    assert (g > b) if measure.better == "higher" else (g < b), (name, g, b)


@pytest.mark.parametrize("name", [n for n, m in registry.MEASURES.items() if m.scope == "method"])
def test_every_method_measure_orders_a_good_and_a_bad_method_as_it_says(name):
    """A method-scope measure (chapter 5's randomization test) on a hand-made run: one method whose randomized
    maps keep only what unrelated maps share (ρ 0.3 against a null of 0.3), one whose maps never change (ρ 1)."""
    from types import SimpleNamespace

    from xaireport.methods.sanity import Block
    from xaireport.results.measures import MethodContext
    from xaireport.results.sanity import COLUMNS, SanityRun
    from xaireport.settings import Settings

    measure = registry.MEASURES[name]
    rows = []
    for method, rho in (("good", 0.3), ("bad", 0.999)):
        for i in range(4):
            for step, r, null in ((0, 1.0, 0.3), (1, rho, 0.3)):
                rows.append(dict(method=method, control=False, mode="cascade", image=f"im{i}", seed=0, step=step,
                                 randomized="b" if step else "", spearman=r, spearman_null=null, spearman_abs=r,
                                 ssim=r, ssim_null=null, hog=r, hog_null=null, edges=0.0, jaccard=np.nan,
                                 constant=False))  # fmt: skip
    run = SanityRun([Block("b", ("b",))], ["good", "bad"], pd.DataFrame(rows, columns=COLUMNS), 1, [0])
    images = [SimpleNamespace(name=f"im{i}") for i in range(4)]
    values = {}
    for method in ("good", "bad"):
        ctx = MethodContext(Settings(), SimpleNamespace(name=method), images, lambda: run)  # type: ignore[arg-type]
        values[method] = float(np.mean(list(measure.compute(ctx).values())))
    good, bad = values["good"], values["bad"]
    assert (good > bad) if measure.better == "higher" else (good < bad), (name, good, bad)


def test_a_bad_measure_record_is_refused():
    with pytest.raises(ValueError, match="better"):
        registry.register(registry.Measure("x", "x", "up", "cost", "m:f"))
    with pytest.raises(ValueError, match="category"):
        registry.register(registry.Measure("x", "x", "lower", "speed", "m:f"))
    with pytest.raises(ValueError, match="module:function"):
        registry.register(registry.Measure("x", "x", "lower", "cost", "m.f"))
    assert "x" not in registry.MEASURES and registry.get("road").title == "ROAD ↑"
