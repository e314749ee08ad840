from __future__ import annotations

import numpy as np
import pytest

from helpers import run_xaireport
from xaireport.methods import agreement as compare


def test_iou_known_answers():
    a = np.zeros((4, 4), bool)
    a[:2] = True  # 8 pixels
    b = np.zeros((4, 4), bool)
    b[1:, :2] = True  # 6 pixels, 2 shared
    assert compare.iou(a, b) == pytest.approx(2 / 12)
    assert compare.iou(a, a) == 1.0
    assert compare.iou(a, ~a) == 0.0
    assert np.isnan(compare.iou(np.zeros(3, bool), np.zeros(3, bool)))


def test_iou_rejects_bad_input():
    with pytest.raises(ValueError, match="differ in shape"):
        compare.iou(np.zeros((2, 2), bool), np.zeros((2, 3), bool))
    with pytest.raises(ValueError, match="boolean"):
        compare.iou(np.zeros((2, 2)), np.zeros((2, 2), bool))


def test_binarize_threshold_and_exact_area_with_random_ties():
    m = np.array([[0.9, 0.5, 0.5], [0.5, 0.1, 0.0]])
    assert compare.binarize(m, threshold=0.5).tolist() == [[True, True, True], [True, False, False]]
    # area 0.5 of 6 pixels = 3: 0.9, then two of the three tied 0.5s
    picks = {tuple(compare.binarize(m, area=0.5, seed=s).ravel()) for s in range(30)}
    assert all(sum(p) == 3 and p[0] and not p[4] and not p[5] for p in picks)
    assert len(picks) == 3  # each pair of tied pixels is chosen for some seed, not always the row-major first
    assert compare.binarize(m, area=0.5, seed=4).tolist() == compare.binarize(m, area=0.5, seed=4).tolist()
    assert compare.binarize(m, area=0.0).sum() == 0 and compare.binarize(m, area=1.0).all()
    r = np.random.default_rng(0).random((224, 224))
    for f in (0.05, 0.137, 0.5):
        assert compare.binarize(r, area=f).sum() == round(f * 224 * 224)
    with pytest.raises(ValueError):
        compare.binarize(m)
    with pytest.raises(ValueError):
        compare.binarize(m, threshold=0.5, area=0.5)


def test_ties_are_not_taken_from_the_top_rows():
    """A piecewise-constant map (LIME): at a small area, tied pixels are spread over the tied region."""
    heat = np.zeros((224, 224))
    heat[150:, 150:] = 1.0  # 74 × 74 positive superpixel, the rest tied at 0
    flat = np.full((224, 224), 0.5)
    mask = compare.binarize(flat, area=0.05)
    rows = np.nonzero(mask)[0]
    assert rows.min() < 20 and rows.max() > 200  # row-major would take rows 0-11 only
    # positive evidence only: the 10 % mask of `heat` holds just its 74 × 74 positive pixels
    capped = compare.binarize(heat, area=0.2, positive_only=True)
    assert capped.sum() == 74 * 74 and heat[capped].min() == 1.0
    pts = compare.iou_curve(heat, heat + 0.0, [0.05, 0.2])
    assert [p.capped for p in pts] == [False, True] and pts[1].iou == 1.0


def test_placement_chance_is_exact_and_stricter_for_blobs():
    yy, xx = np.mgrid[:64, :64]
    blob = (yy - 20) ** 2 + (xx - 30) ** 2 < 12**2
    rect = np.zeros((64, 64), bool)
    rect[35:55, 10:40] = True
    exact = compare.placement_chance_iou(blob, rect)
    rng = np.random.default_rng(0)
    mc = np.mean(
        [compare.iou(blob, np.roll(rect, (rng.integers(64), rng.integers(64)), axis=(0, 1))) for _ in range(4000)]
    )
    assert exact == pytest.approx(mc, abs=0.005)
    brute = np.mean([compare.iou(blob, np.roll(rect, (i, j), axis=(0, 1))) for i in range(64) for j in range(64)])
    assert exact == pytest.approx(brute, abs=1e-9)
    pixel = compare.chance_iou(blob.sum(), rect.sum(), blob.size)
    assert exact > pixel * 1.1  # compact masks overlap more often than pixel-random ones
    assert compare.strict_chance(blob, rect) == exact
    # for pixel-random masks the two levels agree
    a, b = rng.random((64, 64)) < 0.2, rng.random((64, 64)) < 0.3
    assert compare.placement_chance_iou(a, b) == pytest.approx(compare.chance_iou(a.sum(), b.sum(), a.size), abs=0.01)


def test_area_matching_gives_equal_sizes():
    rng = np.random.default_rng(1)
    cam = rng.random((50, 50))
    lime = np.zeros((50, 50), bool)
    lime[10:30, 5:25] = True
    matched = compare.binarize(cam, area=float(lime.mean()))
    assert matched.sum() == lime.sum()
    # a CAM that peaks exactly on the LIME region matches it perfectly
    peak = np.where(lime, 1.0, 0.0) + 0.01 * rng.random((50, 50))
    assert compare.area_matched_iou(peak, lime) == 1.0


def test_chance_level_formula_and_simulation():
    assert compare.chance_iou(0.5, 0.5) == pytest.approx(1 / 3)
    assert compare.chance_iou(100, 100, n=10000) == pytest.approx(1 / 199)
    assert compare.chance_curve([0.1, 0.5]).tolist() == pytest.approx([0.1 / 1.9, 0.5 / 1.5])
    rng = np.random.default_rng(2)
    sims = [compare.iou(rng.random(20000) < 0.2, rng.random(20000) < 0.3) for _ in range(200)]
    assert np.mean(sims) == pytest.approx(compare.chance_iou(0.2, 0.3), abs=0.005)


def test_spearman_and_agreement_matrix():
    x = np.arange(100, dtype=float).reshape(10, 10)
    assert compare.spearman(x, x**2) == pytest.approx(1.0)
    assert compare.spearman(x, -x) == pytest.approx(-1.0)
    assert np.isnan(compare.spearman(x, np.ones_like(x)))
    ious, rhos = compare.agreement({"a": x, "b": x**2, "c": -x}, area=0.2)
    assert ious.shape == (3, 3) and ious[0, 1] == 1.0 and ious[0, 2] == 0.0
    assert rhos[0, 2] == pytest.approx(-1.0) and (np.diag(ious) == 1).all()


def test_iou_curve_identical_maps_is_one():
    r = np.random.default_rng(3).random((30, 30))
    pts = compare.iou_curve(r, r, [0.1, 0.3])
    assert [p.iou for p in pts] == [1.0, 1.0] and not any(p.capped for p in pts)
    assert pts[0].chance == pytest.approx(compare.chance_iou(90, 90, 900))


def test_cli_compare(root, tmp_path):
    cams, lime = tmp_path / "cams", tmp_path / "lime"
    (cams / "gradcam").mkdir(parents=True)
    lime.mkdir()
    m = np.zeros((224, 224), np.float32)
    m[:112] = 1.0
    np.save(cams / "gradcam" / "a.npy", m)
    mask = np.zeros((224, 224), bool)
    mask[:56] = True
    np.savez(lime / "a.npz", mask=mask, class_name="espresso", class_index=967)
    out = tmp_path / "iou.csv"
    compare_cmd = ["compare", "--cams", str(cams), "--lime", str(lime), "--out", str(out)]
    r = run_xaireport(compare_cmd, cwd=root)
    assert r.returncode == 2 and "predictions.csv: not found" in r.stderr and not out.exists()
    # maps of different classes are refused (issue 26), those of one class compared
    (cams / "predictions.csv").write_text("image,class_index,class_name,probability\na.png,1,goldfish,0.5\n")
    r = run_xaireport(compare_cmd, cwd=root)
    assert r.returncode == 2 and "the CAM explains class 1 and LIME class 967 (espresso)" in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()
    (cams / "predictions.csv").write_text("image,class_index,class_name,probability\na.png,967,espresso,0.5\n")
    r = run_xaireport(compare_cmd, cwd=root)
    assert r.returncode == 0, r.stderr
    header, row = out.read_text().splitlines()
    assert header.split(",") == [
        "image",
        "class_name",
        "cam_area",
        "lime_area",
        "iou_threshold",
        "chance_threshold",
        "placement_chance_threshold",
        "iou_area_matched",
        "chance_area_matched",
        "placement_chance_area_matched",
    ]
    vals = row.split(",")
    assert vals[:2] == ["a", "espresso"]
    assert float(vals[4]) == pytest.approx(0.5)  # 56 rows of 112
    assert float(vals[6]) > float(vals[5])  # two bands: random placement overlaps more than random pixels
    # the top 25 % of the CAM is a random half of its tied top half (not its first 56 rows): IoU ≈ 1/3
    assert float(vals[7]) == pytest.approx(1 / 3, abs=0.02)
    r = run_xaireport(["compare", "--cams", str(tmp_path / "no"), "--lime", str(lime), "--out", str(out)], cwd=root)
    assert r.returncode == 2 and "folder not found" in r.stderr and "Traceback" not in r.stderr


def test_ranking_is_remembered_read_only_and_equal_to_a_fresh_sort():
    import numpy as np

    from xaireport.methods import agreement

    rng = np.random.default_rng(3)
    m = np.round(rng.random((16, 16)), 1)  # many ties
    first = agreement.ranking(m, seed=2)
    again = agreement.ranking(m.copy(), seed=2)
    assert again is first and not first.flags.writeable  # the same bytes and seed: the remembered order
    fresh = np.lexsort((np.random.default_rng(2).random(m.size), -m.ravel()))
    assert np.array_equal(first, fresh)
    assert not np.array_equal(agreement.ranking(m, seed=5), first)  # another seed breaks ties differently
    m[0, 0] += 1
    assert agreement.ranking(m, seed=2)[0] == 0  # changed values: sorted again
