"""Issue 15: figures are drawn again only when what they show (or the code drawing them) changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xaireport.methods import registry
from xaireport.report.figures import Unhashable, cached_figure, inputs_digest

DRAWN: list[str] = []


@cached_figure
def heat_figure(maps: list[np.ndarray], title: str, path: Path) -> Path:
    import matplotlib.pyplot as plt

    from xaireport.report.figures import save_figure

    DRAWN.append(title)
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.imshow(maps[0])
    ax.set_title(title)
    return save_figure(fig, path)


def test_a_figure_is_drawn_once_for_the_same_inputs(tmp_path):
    DRAWN.clear()
    png = tmp_path / "heat.png"
    maps = [np.eye(4, dtype=np.float32)]
    assert heat_figure(maps, "a", png) == png and DRAWN == ["a"]
    stamp = tmp_path / ".heat.png.inputs"
    assert stamp.is_file()
    heat_figure([np.eye(4, dtype=np.float32)], "a", path=png)
    assert DRAWN == ["a"]  # equal inputs (a new array with the same values): the file on disk is shown
    heat_figure([np.eye(4, dtype=np.float64)], "a", png)
    maps[0][0, 1] = 0.5
    heat_figure(maps, "a", png)
    heat_figure(maps, "b", png)
    assert DRAWN == ["a", "a", "a", "b"]  # dtype, one value, the title: each draws again
    png.unlink()
    heat_figure(maps, "b", png)
    assert DRAWN[-1] == "b" and len(DRAWN) == 5 and png.is_file()  # a deleted file is drawn again


def test_a_failed_draw_leaves_no_stamp(tmp_path, monkeypatch):
    png = tmp_path / "heat.png"
    heat_figure([np.zeros((2, 2))], "x", png)

    def broken(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr("xaireport.report.figures.save_figure", broken)
    with pytest.raises(RuntimeError):
        heat_figure([np.ones((2, 2))], "x", png)  # the old figure stays, but no stamp claims it is this one
    assert not (tmp_path / ".heat.png.inputs").exists()


def test_inputs_digest_covers_frames_dataclasses_and_refuses_unknown_objects():
    @dataclass
    class Run:
        table: pd.DataFrame
        maps: dict[tuple[str, int], np.ndarray]

    a = Run(pd.DataFrame({"x": [1.0, 2.0]}), {("gradcam", 0): np.zeros(3)})
    b = Run(pd.DataFrame({"x": [1.0, 2.5]}), {("gradcam", 0): np.zeros(3)})
    c = Run(pd.DataFrame({"y": [1.0, 2.0]}), {("gradcam", 0): np.zeros(3)})
    assert inputs_digest(a) == inputs_digest(Run(a.table.copy(), dict(a.maps)))
    assert len({inputs_digest(a), inputs_digest(b), inputs_digest(c)}) == 3
    with pytest.raises(Unhashable):
        inputs_digest(object())


# --- How a map is shown (issue 37) ------------------------------------------------------------------------------

#: A displayed value at or above this is drawn visibly: on the ``inferno`` colour map 0.25 is the first clearly
#: non-black colour (a dark red-purple), below it the cell reads as black.
VISIBLE = 0.25

#: Cheaper settings than the report's for the methods that sample (the maps stay real maps of those methods).
CHEAP = {
    "lime": {"num_samples": 200},
    "integrated_gradients": {"steps": 16},
    "gradient_shap": {"samples": 8},
}


def test_outlier_threshold_is_captums_cumulative_sum_rule():
    from captum.attr._utils.visualization import _cumulative_sum_threshold

    from xaireport.methods.display import outlier_threshold

    values = np.arange(1, 101, dtype=float)  # total 5050: 98 % is 4949, first reached by 1 + … + 99 = 4950
    assert outlier_threshold(values, 2) == 99 and outlier_threshold(values, 0) == 100
    assert outlier_threshold(np.array([1.0, 1, 1, 1, 96]), 2) == 96  # one value with 96 % of the total: not clipped
    rng = np.random.default_rng(0)
    heavy = rng.pareto(1.5, 5000)
    for p in (0, 2, 10, 49):
        assert outlier_threshold(heavy, p) == pytest.approx(_cumulative_sum_threshold(heavy, 100 - p), rel=1e-12)


def test_displayed_follows_the_family_rule_on_hand_made_maps():
    from xaireport.methods.display import SCALING, displayed
    from xaireport.methods.registry import FAMILIES, get

    assert set(SCALING) == set(FAMILIES)  # every family has its rule
    cam = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    shown = displayed(cam, get("gradcam"), 2)
    assert shown.dtype == np.float32 and np.array_equal(shown, cam)  # a CAM as computed
    spike = np.linspace(0.001, 0.01, 10_000, dtype=np.float32).reshape(100, 100)  # a ramp: total 55
    spike[0, :10] = 0.1  # ten extreme pixels holding 1.8 % of the total
    spike[99, 99] = -5.0
    out = displayed(spike, get("integrated_gradients"), 2)
    assert out[99, 99] == 0  # negative evidence is not drawn
    assert np.all(out[0, :10] == 1) and out.max() == 1  # the extreme pixels saturate
    assert 0.8 < np.mean(out > VISIBLE) < 0.9  # ... and most of the ramp stays visible
    assert np.mean(spike.clip(0) / spike.max() > VISIBLE) < 0.01  # scaled to its maximum, it would not be
    assert np.array_equal(displayed(-np.ones((3, 3)), get("occlusion"), 2), np.zeros((3, 3)))  # nothing positive
    at_max = np.clip(spike, 0, None) / spike.max()
    assert np.abs(displayed(spike, get("saliency"), 0) - at_max).max() < 1e-6  # 0 %: scaled to the maximum


@pytest.mark.slow
@pytest.mark.parametrize("name", registry.names())  # every method registered when the tests are collected
def test_every_registered_method_shows_a_visible_map_of_a_real_image(lite0, chelsea, name, tmp_path):
    """Issue 37: Saliency, Integrated Gradients, GradientSHAP and Guided Backprop looked blank in chapter 6's gallery
    (each map's positive part scaled to its maximum: a few extreme pixels took the whole scale). Displayed as its
    family's rule says, every method's map of a real Lite0 decision is visible on at least 1 % of the image, and a
    gradient or perturbation map equals Captum's ``visualize_image_attr`` normalisation."""
    from captum.attr._utils.visualization import _normalize_attr

    from xaireport.methods.display import displayed

    method = registry.get(name)
    e = registry.explain(lite0, chelsea, name, progress=False, **CHEAP.get(name, {}))
    shown = displayed(e, method, 2)
    assert shown.shape == e.map.shape and shown.min() >= 0 and shown.max() == pytest.approx(1.0)
    visible = float(np.mean(shown > VISIBLE))
    print(f"{name}: {visible:.1%} of the image visible")  # the figures' numbers, for the record (pytest -s)
    assert visible >= 0.01
    if method.family != "CAM":
        captum = _normalize_attr(e.map.astype(np.float64), "positive", 2)
        assert np.abs(shown - captum).max() <= 1e-6
    if method.family == "gradient":  # the case the issue saw: scaled to its maximum, less of the map shows
        assert np.mean(e.heatmap > VISIBLE) < visible
