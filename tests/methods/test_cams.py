from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_grad_cam import AblationCAM, GradCAM, ScoreCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from helpers import run_xaireport
from xaireport.core.errors import UserError
from xaireport.methods.cams.scorecam import FastScoreCAM
from xaireport.methods.registry import explain
from xaireport.methods.tolerances import CAM_MAP_ATOL
from xaireport.models import Classifier


class Tiny(nn.Module):
    """A small CNN with a 7×7 post-ReLU target layer, one of whose channels is dead (constant zero)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 5, stride=4, padding=2),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.last = nn.Sequential(nn.Conv2d(32, 24, 3, padding=1), nn.ReLU())
        with torch.no_grad():
            bn = self.body[1]  # running statistics far from (0, 1), so that folding them matters
            bn.running_mean.uniform_(-0.5, 0.5), bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5), bn.bias.uniform_(-0.2, 0.2)
            self.last[0].weight[5].zero_()
            self.last[0].bias[5] = -1.0
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(24, 10)
        with torch.no_grad():
            self.fc.bias.add_(5.0)  # positive logits: AblationCAM's (y - y_k) / y keeps its sign
            self.fc.weight.mul_(20.0)
            self.fc.weight[:, :12].abs_()  # half the channels are evidence for every class

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.last(self.body(x))), 1))


@pytest.fixture()
def tiny() -> Classifier:
    m = Tiny().eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return Classifier(
        name="tiny",
        model=m,
        target_layer=m.last,
        categories=[f"c{i}" for i in range(10)],
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        device=torch.device("cpu"),
        features=lambda x: m.last(m.body(x)),
        head=lambda a: m.fc(torch.flatten(m.pool(a), 1)),
        weights_id="tiny",
    )


def _library(cls, clf, x, target, **kw):
    cam = cls(clf.model, [clf.target_layer], **kw)
    return cam(x, [ClassifierOutputTarget(target)])[0]


@pytest.mark.parametrize("target", [None, 3])
def test_fast_ablationcam_equals_library(tiny, chelsea, target):
    x = tiny.preprocess(chelsea)
    ours = explain(tiny, chelsea, "ablationcam", target=target, batch_size=7, progress=False)
    lib = _library(AblationCAM, tiny, x, ours.class_index, batch_size=32)
    assert np.abs(ours.map - lib).max() <= CAM_MAP_ATOL
    assert ours.map.max() > 0.99  # a real map, not all zeros


@pytest.mark.parametrize("target", [None, 7])
def test_fast_scorecam_equals_library(tiny, chelsea, target):
    x = tiny.preprocess(chelsea)
    ours = explain(tiny, chelsea, "scorecam", target=target, batch_size=5, progress=False)
    lib = _library(ScoreCAM, tiny, x, ours.class_index)
    assert np.abs(ours.map - lib).max() <= CAM_MAP_ATOL
    assert ours.map.max() > 0.99


@pytest.mark.parametrize("graph", [True, False])
def test_fast_scorecam_graph_and_eager_paths_equal_library(tiny, chelsea, graph):
    x = tiny.preprocess(chelsea)
    threads, fusion = torch.get_num_threads(), torch.jit.onednn_fusion_enabled()
    cam = FastScoreCAM(tiny, batch_size=6, progress=False, graph=graph)
    ours = cam(x, [ClassifierOutputTarget(2)])[0]
    lib = _library(ScoreCAM, tiny, x, 2)
    assert np.abs(ours - lib).max() <= 1e-3
    acts = tiny.features(x)[0].flatten(1)
    constant = int((acts.amax(1) == acts.amin(1)).sum())
    assert cam.constant_channels == constant and (24 - constant) % 6 != 0  # and the last batch is padded
    assert (torch.get_num_threads(), torch.jit.onednn_fusion_enabled()) == (threads, fusion)  # restored


def test_scorecam_scores_constant_channels_once(tiny, chelsea):
    cam = FastScoreCAM(tiny, batch_size=4, progress=False)
    cam(tiny.preprocess(chelsea), [ClassifierOutputTarget(1)])
    assert cam.constant_channels >= 1  # channel 5 is dead: scored with the shared all-zero input


def test_gradcam_is_the_library(tiny, chelsea):
    ours = explain(tiny, chelsea, "gradcam", progress=False)
    x = tiny.preprocess(chelsea).requires_grad_(True)
    lib = _library(GradCAM, tiny, x, ours.class_index)
    assert np.abs(ours.map - lib).max() <= 1e-6


@pytest.mark.parametrize("method", ["gradcam", "ablationcam", "scorecam"])
def test_maps_shape_range_and_no_leftover_hooks(tiny, coffee, method):
    before = {n: type(m) for n, m in tiny.model.named_modules()}
    r = explain(tiny, coffee, method, progress=False)
    assert r.map.shape == (224, 224) and r.map.dtype == np.float32
    assert 0.0 <= r.map.min() and r.map.max() <= 1.0
    assert r.class_name == f"c{r.class_index}" and 0 < r.score <= 1 and r.seconds > 0
    assert {n: type(m) for n, m in tiny.model.named_modules()} == before  # model not modified
    assert all(not m._forward_hooks and not m._backward_hooks for m in tiny.model.modules())


def test_target_override_changes_the_explained_class(tiny, chelsea):
    top = explain(tiny, chelsea, "gradcam", progress=False)
    other = (top.class_index + 1) % 10
    r = explain(tiny, chelsea, "gradcam", target=other, progress=False)
    assert r.class_index == other and r.class_name == f"c{other}"
    assert r.score < top.score


def test_bad_method_and_target(tiny, chelsea):
    with pytest.raises(UserError, match=r"unknown method 'gradcam\+\+'"):
        explain(tiny, chelsea, "gradcam++")
    with pytest.raises(UserError, match="target class 10 is out of range"):
        explain(tiny, chelsea, "gradcam", target=10)


def test_input_image_not_mutated(tiny, chelsea):
    copy = chelsea.copy()
    explain(tiny, chelsea, "ablationcam", progress=False)
    assert (copy == chelsea).all()


def test_fast_ablation_on_offline_model_localises_the_cat(lite0, chelsea):
    """Known answer: for 'tiger cat' (the top-1 class with bicubic resizing) on chelsea, the map's peak lies on
    the cat (left two thirds of the crop)."""
    r = explain(lite0, chelsea, "ablationcam", progress=False)
    assert r.class_name == "tiger cat"
    ys, xs = np.unravel_index(np.argmax(r.map), r.map.shape)
    assert xs < 160
    g = explain(lite0, chelsea, "gradcam", progress=False)
    assert np.corrcoef(r.map.ravel(), g.map.ravel())[0, 1] > 0.5


def test_cli_cams_writes_every_output(root, tmp_path):
    from PIL import Image

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    Image.open(root / "data/images/coffee.png").convert("L").save(imgs / "grey_coffee.png")
    out = tmp_path / "out"
    r = run_xaireport(
        ["cams", "--profile", "offline", "--images", str(imgs), "--methods", "gradcam,ablationcam", "--out", str(out)],
        cwd=root,
    )
    assert r.returncode == 0, r.stderr
    for m in ("gradcam", "ablationcam"):
        a = np.load(out / m / "grey_coffee.npy")
        assert a.shape == (224, 224) and 0 <= a.min() and a.max() <= 1
        assert Image.open(out / m / "grey_coffee.png").size == (224, 224)
        assert Image.open(out / m / "grey_coffee-mask.png").mode == "L"
    lines = (out / "predictions.csv").read_text().splitlines()
    assert lines[0] == "image,class_index,class_name,probability" and len(lines) == 2
    assert lines[1].startswith("grey_coffee.png,")


def test_cli_cams_bad_input_writes_nothing(root, tmp_path):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    (imgs / "broken.png").write_bytes(b"\x89PNG broken")
    out = tmp_path / "out"
    r = run_xaireport(["cams", "--profile", "offline", "--images", str(imgs), "--out", str(out)], cwd=root)
    assert r.returncode == 2 and "broken.png" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
    r = run_xaireport(["cams", "--methods", "gradcam,foo", "--out", str(out)], cwd=root)
    assert r.returncode == 2 and "unknown CAM method 'foo' in --methods" in r.stderr and not out.exists()


def test_unknown_method_in_settings_is_a_user_error(root):
    from xaireport.settings import load

    with pytest.raises(
        UserError,
        match=r"xaireport.cams.methods = 'gradcam\+\+' is out of range: each item must be "
        r"one of gradcam, ablationcam, scorecam",
    ):
        load(profile="smoke", project_dir=root, overrides={"cams.methods": ["gradcam", "gradcam++"]})


def test_fast_cam_objects_can_be_called_again(tiny, chelsea, coffee):
    """The library's CAM objects explain any number of inputs; ours too (hooks are paused, not released)."""
    from xaireport.methods.cams.ablationcam import FastAblationCAM

    for cam in (FastScoreCAM(tiny, batch_size=4, progress=False), FastAblationCAM(tiny, 8, progress=False)):
        first = cam(tiny.preprocess(chelsea), [ClassifierOutputTarget(3)])
        second = cam(tiny.preprocess(coffee), [ClassifierOutputTarget(3)])
        again = cam(tiny.preprocess(chelsea), [ClassifierOutputTarget(3)])
        assert np.array_equal(first, again) and not np.array_equal(first, second)
        assert len(cam.activations_and_grads.handles) > 0  # hooks in place for the next call
        cam.__exit__(None, None, None)
        assert len(cam.activations_and_grads.handles) == 0  # released when the object is closed
