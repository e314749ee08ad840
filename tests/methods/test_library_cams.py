"""The grad-cam package's CAMs registered as they are (``methods/cams/library.py``): each map equals the package's
own class on the same layer and target, on two architectures (a small CNN and EfficientNet-Lite0)."""

from __future__ import annotations

import numpy as np
import pytest
import pytorch_grad_cam
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from test_cams import tiny  # noqa: F401 - the fixture (a small CNN)

from xaireport.methods import registry
from xaireport.methods.cams.library import CLASSES
from xaireport.methods.registry import explain
from xaireport.methods.tolerances import CAM_MAP_ATOL


def _library(name, clf, image, target):
    cls = getattr(pytorch_grad_cam, CLASSES[name][0])
    x = clf.preprocess(image).requires_grad_(CLASSES[name][1])
    with cls(clf.model, [clf.target_layer], reshape_transform=clf.reshape_transform) as cam:
        return cam(x, [ClassifierOutputTarget(target)])[0]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_each_library_cam_equals_the_package_on_a_small_cnn(tiny, chelsea, name):  # noqa: F811
    ours = explain(tiny, chelsea, name, progress=False)
    assert ours.map.shape == (224, 224) and ours.map.dtype == np.float32
    assert 0 <= ours.map.min() and ours.map.max() <= 1
    assert np.abs(ours.map - _library(name, tiny, chelsea, ours.class_index)).max() <= CAM_MAP_ATOL
    assert registry.get(name).family == "CAM" and registry.get(name).function == name


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_each_library_cam_equals_the_package_on_efficientnet_lite0(lite0, chelsea, name):
    ours = explain(lite0, chelsea, name, progress=False)
    assert np.abs(ours.map - _library(name, lite0, chelsea, ours.class_index)).max() <= CAM_MAP_ATOL
    assert ours.map.max() > 0.99  # a real, non-empty map


def test_eigencam_ignores_the_class_and_gradient_cams_do_not(tiny, chelsea):  # noqa: F811
    top = explain(tiny, chelsea, "eigencam", progress=False)
    other = explain(tiny, chelsea, "eigencam", (top.class_index + 1) % 10, progress=False)
    assert np.array_equal(top.map, other.map)  # EigenCAM has no class: the random-logit test will show it
    g_top = explain(tiny, chelsea, "layercam", progress=False)
    g_other = explain(tiny, chelsea, "layercam", (g_top.class_index + 1) % 10, progress=False)
    assert np.abs(g_top.map - g_other.map).max() > 0.05
