"""Chapter 5's verdicts (``results/sanity.verdicts``) against the null of unrelated maps, on hand-made runs, and
its tables (``report/sanity_checks``); chapter 4's family claim."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaireport.methods.sanity import Block, fisher_z
from xaireport.results.sanity import COLUMNS, SanityRun, differences, edge_baseline, verdicts
from xaireport.settings import SanitySettings

ORDER = [Block("b1", ("b1",)), Block("b2", ("b2",))]


def _run(matched: dict[str, list], null: dict[str, list], step: int = 2, edges: float = 0.1) -> SanityRun:
    """A run at the verdict step ``step``: per method, per image the matched ρ and its null (a number, or a list
    over seeds)."""
    rows = []
    for m, values in matched.items():
        for i, (v, n) in enumerate(zip(values, null[m])):
            for seed, (x, y) in enumerate(zip(np.atleast_1d(v), np.atleast_1d(n))):
                base = dict(method=m, control=m.startswith("control:"), mode="cascade", image=f"im{i}", seed=seed)
                rows.append({**base, "step": 0, "randomized": "", "spearman": 1.0, "spearman_null": 0.1,
                             "spearman_abs": 1.0, "ssim": 1.0, "ssim_null": 0.2, "hog": 1.0, "hog_null": 0.1,
                             "edges": edges, "jaccard": np.nan, "constant": False})  # fmt: skip
                rows.append({**base, "step": step, "randomized": f"b{step}", "spearman": x, "spearman_null": y,
                             "spearman_abs": abs(x), "ssim": 0.5, "ssim_null": 0.5, "hog": 0.3, "hog_null": 0.3,
                             "edges": edges, "jaccard": np.nan, "constant": False})  # fmt: skip
    table = pd.DataFrame(rows, columns=COLUMNS)
    seeds = sorted(table["seed"].unique().tolist())
    return SanityRun(ORDER, list(matched), table, step, seeds)


def test_a_map_that_keeps_only_what_unrelated_maps_share_passes_and_one_that_keeps_more_fails():
    """Grad-CAM-like: ρ with its own trained map 0.30 against a null of 0.30 (unrelated maps of the method are as
    similar): it passes, though the old rule (|ρ| against 0.2) would have failed it. Guided-Backprop-like: 0.95
    against 0.10: it fails."""
    run = _run(
        {"coarse": [0.30, 0.31, 0.29, 0.30, 0.30], "edgy": [0.95, 0.96, 0.94, 0.95, 0.97]},
        {"coarse": [0.30, 0.30, 0.30, 0.31, 0.29], "edgy": [0.10, 0.12, 0.08, 0.10, 0.11]},
    )
    coarse, edgy = verdicts(run, SanitySettings(margin=0.05))
    assert coarse.outcome == "passes" and coarse.block == "b2" and abs(coarse.decision.mean) < 0.01
    assert coarse.matched == pytest.approx(0.30, abs=0.005) and coarse.reference == pytest.approx(0.30, abs=0.005)
    assert edgy.outcome == "fails" and edgy.decision.low > 0.05
    want = np.mean(fisher_z([0.95, 0.96, 0.94, 0.95, 0.97]) - fisher_z([0.10, 0.12, 0.08, 0.10, 0.11]))
    assert edgy.decision.mean == pytest.approx(want)
    fixed = verdicts(run, SanitySettings(reference="fixed", threshold=0.2))
    assert fixed[0].outcome == "fails" and fixed[0].reference == 0.2 and fixed[0].margin == 0.0


def test_seeds_are_averaged_within_each_image_on_the_z_scale():
    matched = [[0.9, -0.3], [0.8, -0.2], [0.85, -0.25]]  # one seed high, one low, for every image
    run = _run({"m": matched}, {"m": [[0.0, 0.0]] * 3})
    d = differences(run, "m", SanitySettings())
    assert d["im0"] == pytest.approx((fisher_z(0.9) + fisher_z(-0.3)) / 2)
    (v,) = verdicts(run, SanitySettings())
    assert v.decision.images == 3 and v.decision.seed_means == pytest.approx(
        (np.mean(fisher_z([0.9, 0.8, 0.85])), np.mean(fisher_z([-0.3, -0.2, -0.25])))
    )


def test_a_map_that_is_the_same_for_every_image_is_tested_against_the_fixed_threshold():
    """A centre bump (the same map whatever the image and the weights): unrelated maps are its own map, so the null
    would call it unchanged-as-expected; it is tested against the fixed threshold instead, and fails."""
    run = _run({"bump": [1.0, 1.0, 1.0]}, {"bump": [1.0, 1.0, 1.0]})
    run.table.loc[run.table["step"] == 0, "spearman_null"] = 1.0  # trained maps of different images: identical
    (v,) = verdicts(run, SanitySettings())
    assert v.reference_kind == "fixed" and v.outcome == "fails" and v.reference == 0.2


def test_one_rule_for_pass_and_fail_and_not_decided_in_between():
    run = _run({"m": [0.5, -0.3, 0.2, 0.0]}, {"m": [0.1, 0.1, 0.1, 0.1]})  # a spread that decides nothing
    (v,) = verdicts(run, SanitySettings())
    assert v.outcome == "undecided" and v.decision.low < 0.05 < v.decision.high
    assert v.decision.not_decided() == "not decided on 4 images"
    assert 0 < v.detectable < 1 and v.calibration.draws == 2000 and v.calibration.images == 4


def test_controls_are_decided_as_they_must_be():
    """The edge control keeps its map under any weights (ρ clipped to 0.999: z = 3.8); the noise control is new noise
    for every set of weights (ρ and null about 0, spread 1e-3)."""
    rng = np.random.default_rng(0)
    run = _run(
        {"control:edges": [1.0] * 6, "control:noise": list(rng.normal(0, 0.004, 6))},
        {"control:edges": [0.05, 0.1, 0.0, 0.2, 0.1, 0.1], "control:noise": list(rng.normal(0, 0.002, 6))},
    )
    edges, noise = verdicts(run, SanitySettings())
    assert edges.outcome == "fails" and edges.control and noise.outcome == "passes" and noise.control
    from xaireport.report.sanity_checks import label

    assert label("control:edges") == "Sobel edges (control)" and label("gradcam") == "Grad-CAM"


def test_verdict_table_and_seed_table():
    from xaireport.report.sanity_checks import seed_table, verdict_table

    run = _run({"gradcam": [[0.3, 0.2], [0.25, 0.35], [0.3, 0.3]]}, {"gradcam": [[0.1, 0.1]] * 3})
    vs = verdicts(run, SanitySettings())
    t = verdict_table(vs)
    assert t.columns.tolist()[:4] == ["method", "ρ with own trained map", "reference ρ", "reference"]
    assert t.loc[0, "reference"] == "null (other images)"
    assert t.loc[0, "method"] == "Grad-CAM" and t.loc[0, "verdict"] in ("fails", "passes", "not decided on 3 images")
    assert t.loc[0, "constant maps"] == "0 of 6"
    s = seed_table(run, SanitySettings())
    assert s.columns.tolist() == ["method", "seed 0", "seed 1"]
    assert s.loc[0, "seed 0"] == pytest.approx(np.mean(fisher_z([0.3, 0.25, 0.3])) - fisher_z(0.1))


def test_jaccard_table_shows_lime_per_step_and_a_note_without_it():
    from xaireport.report.sanity_checks import jaccard_table

    rows = []
    for step, block, jac in ((0, "", 1.0), (1, "b1", 0.25), (2, "b2", 0.5)):
        rows.append(dict(method="lime", control=False, mode="cascade", image="a", seed=0, step=step,
                         randomized=block, spearman=0.5, spearman_null=0.1, spearman_abs=0.5, ssim=0.5,
                         ssim_null=0.1, hog=0.5, hog_null=0.1, edges=0.1, jaccard=jac, constant=False))  # fmt: skip
    run = SanityRun(ORDER, ["lime"], pd.DataFrame(rows, columns=COLUMNS), 2, [0])
    t = jaccard_table(run)
    assert list(t.columns) == ["step", "randomized down to", "LIME top-k Jaccard"]
    assert t["randomized down to"].tolist() == ["(trained)", "b1", "b2"]
    assert t["LIME top-k Jaccard"].tolist() == [1.0, 0.25, 0.5]
    no_lime = SanityRun(ORDER, ["gradcam"], pd.DataFrame(columns=COLUMNS), 2, [0])
    assert list(jaccard_table(no_lime).columns) == ["note"]


def test_edge_baseline_decides_whether_random_maps_follow_the_edges_more():
    from xaireport.report.sanity_checks import edge_table

    run = _run({"gradcam": [0.1, 0.1, 0.1]}, {"gradcam": [0.1, 0.1, 0.1]}, edges=0.1)
    c = run.table
    c.loc[c["step"] == 2, "edges"] = [0.50, 0.55, 0.60]  # every random map follows the edges more, per image
    (e,) = edge_baseline(run)
    assert e.trained == pytest.approx(0.1) and e.random == pytest.approx(0.55)
    assert e.change.outcome == "above" and e.change.mean == pytest.approx(0.45)
    c.loc[c["step"] == 2, "edges"] = [0.5, -0.3, 0.1]  # the images disagree
    (e,) = edge_baseline(run)
    assert e.change.outcome == "undecided"
    assert edge_table([e]).columns.tolist() == [
        "method",
        "trained model",
        "randomized (verdict step)",
        "randomized − trained (per image)",
    ]


def test_chapter_4_family_claim_is_decided_from_per_image_gaps():
    from xaireport.methods.decision import decide
    from xaireport.report.gradcam_vs_lime import family_gap

    # two CAMs + LIME per image: CAM-CAM IoU 0.6, CAM-LIME IoUs 0.2 and 0.4 -> gap 0.6 - 0.3 = 0.3
    m = np.array([[1.0, 0.6, 0.2], [0.6, 1.0, 0.4], [0.2, 0.4, 1.0]])
    gaps = family_gap(np.stack([m, m, m]))
    assert gaps.tolist() == pytest.approx([0.3, 0.3, 0.3])
    assert decide(gaps + [0.01, -0.01, 0.0], 0.0).outcome == "above"
    assert family_gap(np.stack([np.eye(2)] * 3)).size == 0  # one CAM: nothing to compare
    assert decide([0.3, -0.3, 0.05], 0.0).outcome == "undecided"  # a sign flip across images decides nothing
