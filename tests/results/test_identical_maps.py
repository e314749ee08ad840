"""Methods that are the same method on a model (``results/evaluation.identical_maps``): on EfficientNet-Lite0, whose
head is global average pooling and one linear layer, the gradient is constant over each channel's positions, so
HiResCAM's and XGradCAM's maps equal Grad-CAM's; GradCAM++ (squared gradients over a sum) differs."""

from __future__ import annotations

import shutil

import pytest

from xaireport.session import Session
from xaireport.settings import load


@pytest.mark.slow
def test_grad_cam_hirescam_and_xgradcam_are_one_method_on_a_pooled_linear_head(project, root):
    shutil.copytree(root / "data/images", project / "images")
    (project / "_quarto.yml").write_text(
        "xaireport:\n  device: cpu\n  images:\n    folder: images\n    limit: 2\n  paths:\n    cache: cache\n"
        "  classifier:\n    model: efficientnet-lite0\n"
    )
    from xaireport.results.evaluation import identical_maps
    from xaireport.results.explanations import explain

    session = Session(load(profile="", project_dir=project))
    methods = session.methods(["gradcam", "gradcampp", "hirescam", "xgradcam", "saliency"], "methods")
    maps = {m.name: [explain(session, im, m).map for im in session.images()] for m in methods}
    ((group, diff),) = identical_maps(maps)
    assert group == ["gradcam", "hirescam", "xgradcam"] and diff < 1e-5
    assert identical_maps({k: maps[k] for k in ("gradcam", "gradcampp")}) == []
