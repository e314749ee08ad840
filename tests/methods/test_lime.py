from __future__ import annotations

import numpy as np
import pytest

from helpers import run_xaireport
from xaireport.core.errors import UserError
from xaireport.methods import lime
from xaireport.methods.explanations import Explanation, LimeResult
from xaireport.methods.tolerances import LIME_WEIGHTS_ATOL


def explain(classifier, image, **kwargs) -> LimeResult:
    """:func:`xaireport.methods.lime.explain`, viewed as chapter 3 shows it (with its crop)."""
    e = lime.explain(classifier, image, progress=False, **kwargs)
    assert isinstance(e, Explanation) and e.method == "lime" and e.signed
    assert e.map.dtype == np.float32 and np.array_equal(e.map, e.parts["weights"][e.parts["segments"]].astype("f4"))
    return LimeResult.of(e, classifier.crop(image))


@pytest.fixture(scope="module")
def pair(lite0, chelsea):
    """Ours and the tutorial pipeline (lime's own explainer + batch_predict, batches of 10), same seed."""
    ours = explain(lite0, chelsea, num_samples=60, seed=3)
    ref = explain(lite0, chelsea, num_samples=60, seed=3, reference=True)
    return ours, ref


def test_equal_to_the_tutorial_pipeline(pair):
    ours, ref = pair
    assert (ours.segments == ref.segments).all()
    assert (ours.mask == ref.mask).all()
    assert np.allclose(ours.weights, ref.weights, atol=LIME_WEIGHTS_ATOL)
    assert ours.class_index == ref.class_index and abs(ours.r2 - ref.r2) < 1e-5
    top = lambda r: set(np.argsort(-r.weights)[:5])  # noqa: E731
    assert top(ours) == top(ref)


def test_shapes_and_ranges(pair, lite0):
    r, _ = pair
    assert r.image.shape == (224, 224, 3) and r.segments.shape == (224, 224) and r.mask.dtype == bool
    assert r.segments.min() == 0 and len(r.weights) == r.segments.max() + 1
    assert r.heatmap.shape == (224, 224) and r.heatmap.min() >= 0 and r.heatmap.max() == pytest.approx(1.0)
    # the mask is exactly the 5 superpixels with the largest positive weights
    top5 = [s for s in np.argsort(-r.weights)[:5] if r.weights[s] > 0]
    assert (r.mask == np.isin(r.segments, top5)).all()
    # heatmap: each pixel its segment's positive weight over the largest weight
    s0 = int(top5[0])
    assert r.heatmap[r.segments == s0].max() == pytest.approx(1.0)
    assert r.class_name == "tiger cat" and 0 < r.score <= 1 and -1 <= r.r2 <= 1


def test_deterministic_for_a_seed_and_seed_matters(lite0, coffee):
    a = explain(lite0, coffee, num_samples=40, seed=11)
    b = explain(lite0, coffee, num_samples=40, seed=11)
    c = explain(lite0, coffee, num_samples=40, seed=12)
    assert (a.mask == b.mask).all() and np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, c.weights)


def test_target_override(lite0, coffee):
    r = explain(lite0, coffee, num_samples=30, seed=0, target=504)  # 504 = coffee mug
    assert r.class_index == 504 and r.class_name == "coffee mug"


def test_bad_parameters(lite0, coffee):
    with pytest.raises(UserError, match="num_samples"):
        explain(lite0, coffee, num_samples=1)


def test_stability_jaccard_known_answers():
    from xaireport.methods.agreement import iou as jaccard  # the stability table's Jaccard index

    a = np.zeros((4, 4), bool)
    a[:2] = True
    b = np.zeros((4, 4), bool)
    b[1:3] = True
    assert jaccard(a, b) == pytest.approx(4 / 12)
    assert jaccard(a, a) == 1.0
    assert np.isnan(jaccard(np.zeros((2, 2), bool), np.zeros((2, 2), bool)))


def test_cli_lime_outputs(root, tmp_path):
    from PIL import Image

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    Image.open(root / "data/images/chelsea.png").save(imgs / "cat.png")
    out = tmp_path / "out"
    r = run_xaireport(
        [
            "lime",
            "--profile",
            "offline",
            "--images",
            str(imgs),
            "--num-samples",
            "30",
            "--seed",
            "1",
            "--out",
            str(out),
        ],
        cwd=root,
    )
    assert r.returncode == 0, r.stderr
    z = np.load(out / "cat.npz")
    assert z["segments"].shape == (224, 224) and z["mask"].dtype == bool and z["heatmap"].max() <= 1
    assert str(z["class_name"]) == "tiger cat"
    assert Image.open(out / "cat-boundaries.png").size == (224, 224)
    assert Image.open(out / "cat-hide-rest.png").size == (224, 224)
    assert (out / "explanations.csv").read_text().splitlines()[
        0
    ] == "image,class_index,class_name,probability,r2,superpixels"
    bad = run_xaireport(["lime", "--num-samples", "1", "--out", str(tmp_path / "x")], cwd=root)
    assert (
        bad.returncode == 2
        and "xaireport.lime.num_samples = 1 is out of range: it must be in [2, 100000]" in bad.stderr
    )


def test_cached_graph_gives_the_eager_models_explanation(lite0, chelsea):
    from xaireport.core.inference import GRAPHS

    eager = explain(lite0, chelsea, num_samples=44, seed=5, graph=False)
    traces = GRAPHS.traces
    fast = explain(lite0, chelsea, num_samples=44, seed=5)  # 44 = 5 full batches of 8 and a padded one of 4
    again = explain(lite0, chelsea, num_samples=44, seed=6)
    assert GRAPHS.traces - traces <= 1  # traced at most once (an earlier test may have traced this shape)
    assert (fast.segments == eager.segments).all() and (fast.mask == eager.mask).all()
    assert np.allclose(fast.weights, eager.weights, atol=1e-5) and fast.class_index == eager.class_index
    assert abs(fast.score - eager.score) < 1e-4 and again.class_index == fast.class_index


def test_rows_built_in_the_workers_give_the_same_probabilities(lite0, chelsea):
    """``from_rows`` (each worker builds its own perturbed batch) equals classifying the built images."""
    from xaireport.methods.lime import classifier_fn, perturbed

    crop = lite0.crop(chelsea)
    segments = (np.arange(224)[:, None] // 56 * 4 + np.arange(224)[None] // 56).astype(np.int64)  # 16 squares
    rows = np.random.default_rng(0).integers(0, 2, (21, 16))  # 2 full batches of 8 and a padded one of 5
    fudged = np.zeros_like(crop)
    images = perturbed(rows, segments, crop, fudged)
    assert images.shape == (21, 224, 224, 3) and (images[rows[:, 0] == 0][:, :56, :56] == 0).all()
    fn = classifier_fn(lite0, batch_size=8)
    direct, built = fn(images), fn.from_rows(rows, segments, crop, fudged)
    assert built.shape == (21, 1000) and np.array_equal(built, direct)
    assert not np.allclose(built[0], built[1], atol=1e-3)  # different rows, different probabilities


def test_superpixels_are_computed_once_per_image_and_seed(coffee, monkeypatch):
    """LIME's segmentation depends on the image and the seed only: the sanity checks' randomized networks reuse it
    (issue 34), and it equals lime's own quickshift call."""
    from lime.wrappers.scikit_image import SegmentationAlgorithm

    from xaireport.methods import lime as ours

    crop = coffee[:96, :96].copy()
    monkeypatch.setattr(ours, "_SEGMENTS", __import__("collections").OrderedDict())
    calls = []
    real = SegmentationAlgorithm.__call__
    monkeypatch.setattr(SegmentationAlgorithm, "__call__", lambda self, img: calls.append(1) or real(self, img))
    first = ours.segmenter(3)(crop)
    again = ours.segmenter(3)(crop)
    assert np.array_equal(first, again) and len(calls) == 1
    other_seed = ours.segmenter(4)(crop)
    assert len(calls) == 2 and other_seed.shape == first.shape
    lime_own = SegmentationAlgorithm("quickshift", kernel_size=4, max_dist=200, ratio=0.2, random_seed=3)(crop)
    assert np.array_equal(first, lime_own)
    first[0, 0] = -1
    assert ours.segmenter(3)(crop)[0, 0] != -1  # a caller cannot change the kept superpixels
