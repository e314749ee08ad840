"""Model-parameter randomization: which weights change, the similarity measures (``methods/sanity.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xaireport import models
from xaireport.core.errors import UserError
from xaireport.methods import sanity


def _changed(a: torch.nn.Module, b: torch.nn.Module) -> set[str]:
    pa, pb = a.state_dict(), b.state_dict()
    return {k for k in pa if not torch.equal(pa[k], pb[k])}


def _prefixes(keys: set[str], blocks: list[sanity.Block]) -> set[str]:
    return {b.name for b in blocks if any(k.startswith(m + ".") for k in keys for m in b.modules)}


@pytest.fixture(scope="module")
def r18():
    return models.load("resnet18", random_init=True, seed=3, device="cpu")


def test_cascade_order(lite0, r18):
    assert [b.name for b in sanity.blocks(r18)] == [
        "fc",
        "layer4.1",
        "layer4.0",
        "layer3.1",
        "layer3.0",
        "layer2.1",
        "layer2.0",
        "layer1.1",
        "layer1.0",
        "conv1",
    ]
    names = [b.name for b in sanity.blocks(lite0)]
    assert names[:3] == ["classifier", "conv_head", "blocks.6"] and names[-2:] == ["blocks.0", "conv_stem"]


@pytest.mark.parametrize("which", ["lite0", "r18"])
def test_randomize_changes_exactly_the_named_blocks(which, lite0, r18):
    clf = lite0 if which == "lite0" else r18
    order = sanity.blocks(clf)
    before = {k: v.clone() for k, v in clf.model.state_dict().items()}
    third = order[2].name
    casc = sanity.randomize(clf, upto=third, seed=0)
    assert _prefixes(_changed(clf.model, casc.model), order) == {b.name for b in order[:3]}
    only = sanity.randomize(clf, only=third, seed=0)
    assert _prefixes(_changed(clf.model, only.model), order) == {third}
    # the same random weights for a block in the cascade and alone
    for k, v in only.model.state_dict().items():
        if any(k.startswith(m + ".") for m in order[2].modules):
            assert torch.equal(v, casc.model.state_dict()[k]), k
    # the original is untouched, and the new classifier is a separate one with its own cache identity
    assert all(torch.equal(v, before[k]) for k, v in clf.model.state_dict().items())
    assert casc.model is not clf.model and casc.target_layer is not clf.target_layer
    assert casc.weights_id != clf.weights_id != only.weights_id
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        assert torch.allclose(casc.head(casc.features(x)), casc.model(x), atol=1e-4)  # parts rebuilt for the copy
    # the first cascade step is the top block alone: the same weights and the same cache identity
    top = order[0].name
    first, alone = sanity.randomize(clf, upto=top, seed=0), sanity.randomize(clf, only=top, seed=0)
    assert first.weights_id == alone.weights_id != casc.weights_id
    assert all(torch.equal(v, alone.model.state_dict()[k]) for k, v in first.model.state_dict().items())
    assert sanity.randomize(clf, only=top, seed=1).weights_id != alone.weights_id
    with pytest.raises(UserError, match="has no block 'layer9'"):
        sanity.randomize(clf, only="layer9")


def test_measures_known_answers():
    rng = np.random.default_rng(0)
    m = rng.random((32, 32))
    same = sanity.similarities(m, m)  # step 0
    assert same == {"spearman": 1.0, "spearman_abs": 1.0, "ssim": pytest.approx(1.0), "hog": pytest.approx(1.0)}
    assert sanity.spearman(m, -m) == pytest.approx(-1.0)
    other = sanity.similarities(m, rng.random((32, 32)))
    assert abs(other["spearman"]) < 0.1 and other["ssim"] < 0.2
    # a model whose output ignores the input gives a constant map: it has no ranking (NaN, as scipy gives), so the
    # chapter counts it instead of scoring it 0 (which pushed towards "passes")
    flat = sanity.similarities(m, np.zeros_like(m))
    assert np.isnan(flat["spearman"]) and np.isnan(flat["spearman_abs"]) and flat["ssim"] < 0.1
    assert np.isnan(sanity.spearman(np.zeros((4, 4)), np.zeros((4, 4))))
    # SSIM and HOG compare the min-max scaled maps: shapes, not scales (a random model's LIME weights are tiny)
    assert sanity.ssim(m - 0.5, (m - 0.5) * 1e-4) == pytest.approx(1.0)
    assert sanity.hog_similarity(m, 3 * m + 1) == pytest.approx(1.0)
    assert sanity.top_superpixels(np.array([0.3, -0.2, 0.5, 0.0]), 3) == {0, 2}
    assert sanity.jaccard({0, 2}, {2, 5}) == pytest.approx(1 / 3)


def test_randomizing_the_head_changes_gradcam_of_a_trained_model(lite0, coffee):
    from xaireport.methods.registry import explain

    target = int(lite0.probabilities(coffee).argmax())
    trained = explain(lite0, coffee, "gradcam", target, progress=False).map
    again = explain(sanity.randomize(lite0), coffee, "gradcam", target, progress=False).map
    assert np.allclose(trained, again, atol=1e-6)  # no block randomized: the same map
    random_top = explain(sanity.randomize(lite0, upto="conv_head"), coffee, "gradcam", target, progress=False).map
    assert not np.allclose(trained, random_top, atol=1e-3)
    rho = sanity.spearman(np.abs(trained), np.abs(random_top))
    # a random head can leave Grad-CAM all zeros (no ranking: NaN); otherwise little of the ranking survives
    assert (np.isnan(rho) and random_top.max() == random_top.min()) or rho < 0.5


def test_other_architectures_randomize_module_by_module():
    from xaireport.models import Classifier

    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.ReLU(),
        torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3), torch.nn.BatchNorm2d(4)),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 2),
    )
    clf = Classifier(
        name="tiny",
        model=net,
        target_layer=net[0],
        categories=["a"],
        mean=(0, 0, 0),
        std=(1, 1, 1),
        device=torch.device("cpu"),
        features=net,
        head=net,
        weights_id="t",
        split=lambda m: (m, m),
    )
    # Parameterised top-level modules, last first, the inner Sequential opened; parameter-free ones skipped.
    assert [b.name for b in sanity.blocks(clf)] == ["5", "2.1", "2.0", "0"]
    assert sanity.initializer(clf) == "each layer's PyTorch reset_parameters()"
    before = {k: v.clone() for k, v in net.state_dict().items()}
    new = sanity.randomize(clf, only="2.0", seed=4).model
    after = new.state_dict()
    assert not torch.equal(after["2.0.weight"], before["2.0.weight"])
    assert all(torch.equal(after[k], before[k]) for k in before if not k.startswith("2.0."))
    assert all(torch.equal(net.state_dict()[k], before[k]) for k in before)  # the original is untouched


def test_paper_style_ssim_and_hog_on_tiny_arrays():
    """SSIM as the paper's notebook: min-max to [0, 1], Gaussian window, data range 2 (scikit-image 0.14's float
    default). Two constant-valued halves: [0, 0 | 1, 1] against its mirror [1, 1 | 0, 0] are exact opposites."""
    from skimage.metrics import structural_similarity

    a = np.zeros((16, 16))
    a[:, 8:] = 5.0  # min-max scaling makes it 0 | 1
    b = 1.0 - np.where(a > 0, 1.0, 0.0)
    expected = structural_similarity(np.where(a > 0, 1.0, 0.0), b, gaussian_weights=True, data_range=2.0)
    assert sanity.ssim(a, b) == pytest.approx(expected) and sanity.ssim(a, b) < 0.5
    assert sanity.unit_range(a).tolist() == np.where(a > 0, 1.0, 0.0).tolist()
    assert sanity.unit_range(np.full((3, 3), 7.0)).max() == 0.0  # a constant map: zeros, no division by zero
    # hand-made: data_range 2 halves C1, C2 against data_range 1; on equal maps SSIM is 1 either way
    assert sanity.ssim(a, a * 2 + 3) == pytest.approx(1.0)
    # HOG: a vertical edge against a horizontal one has a different gradient orientation histogram
    c = np.zeros((32, 32))
    c[:, 16:] = 1.0
    assert sanity.hog_similarity(c, c.T) < sanity.hog_similarity(c, c * 0.5)


def test_edge_map_is_the_sobel_magnitude_and_a_map_equal_to_it_correlates_fully():
    # a vertical step edge: Sobel responds on the two columns beside the step, nowhere else
    img = np.zeros((8, 8, 3), np.uint8)
    img[:, 4:] = 255
    e = sanity.edge_map(img)
    assert e.shape == (8, 8) and np.all(e[:, :3] == 0) and np.all(e[1:-1, 3:5] > 0.4) and np.all(e[:, 6:] == 0)
    assert sanity.edge_similarity(e, e) == pytest.approx(1.0)
    assert sanity.edge_similarity(-e, e) == pytest.approx(1.0)  # |map|: a negative edge map is still edges
    assert sanity.edge_similarity(e.max() - e, e) == pytest.approx(-1.0)
    assert np.isnan(sanity.edge_similarity(np.zeros((8, 8)), e))  # a constant map has no ranking
    assert sanity.edge_map(img, (4, 4)).shape == (4, 4)
