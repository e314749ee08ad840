"""Chapter 5's verdicts (``report/sanity_checks.verdicts``) decided with their uncertainty, on hand-made runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaireport.methods.sanity import Block
from xaireport.report.sanity_checks import verdicts
from xaireport.results.sanity import COLUMNS, SanityRun


def _run(per_step: dict[int, list], method: str = "gradcam", edges: float = 0.1) -> SanityRun:
    """A run whose |rho| at ``step`` is ``per_step[step]``: per image, or per image a list over seeds."""
    order = [Block(f"b{i}", (f"b{i}",)) for i in range(1, max(per_step) + 1)]
    rows = []
    for step, values in per_step.items():
        for i, v in enumerate(values):
            for seed, x in enumerate(np.atleast_1d(v)):
                rows.append([method, f"im{i}", seed, step, f"b{step}", x, x, 0.5, 0.5, edges, np.nan])
    return SanityRun(order, [method], pd.DataFrame(rows, columns=COLUMNS), pd.DataFrame(columns=COLUMNS))


def test_the_issue_22_seed_that_used_to_fail_is_now_not_decided():
    # seed 0, Grad-CAM, three images: the old rule (mean of signed values, 0.2017 >= 0.2) printed "fails"
    run = _run({1: [-0.217, 0.471, 0.351], 2: [0.240, -0.200, 0.110], 3: [0.565, 0.579, 0.025]})
    (v,) = verdicts(run, threshold=0.2, within=2)
    assert v.outcome == "undecided" and not v.passes and v.step == 2
    assert v.decision.undecided_reason() == "not decided on 3 images: the interval contains 0.2"
    assert v.final == np.mean([0.565, 0.579, 0.025])  # |rho| at the last step, not the signed mean 0.004


def test_a_clear_drop_passes_and_a_clear_plateau_fails():
    (v,) = verdicts(_run({1: [0.9, 0.92, 0.91], 2: [0.05, 0.06, 0.07]}), threshold=0.2, within=2)
    assert v.outcome == "passes" and v.step == 2 and v.block == "b2"
    assert v.decision.describe() == "0.06 (CI 0.04 to 0.08, 3 images)"
    (v,) = verdicts(_run({1: [0.9, 0.92, 0.91], 2: [0.8, 0.82, 0.81], 3: [0.0, 0.01, 0.02]}), 0.2, 2)
    assert v.outcome == "fails" and v.step == 2  # decided at the steps checked; step 3 is beyond within


def test_constant_maps_are_counted_not_scored():
    (v,) = verdicts(_run({1: [np.nan, 0.05, 0.06, 0.07]}), threshold=0.2, within=1)
    assert v.outcome == "passes" and v.constant == 1 and v.decision.images == 3


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


def test_jaccard_table_shows_lime_per_step_and_a_note_without_it():
    from xaireport.report.sanity_checks import jaccard_table

    rows = [
        ["lime", "a", 0, 0, "", 1, 1, 1, 1, 0.1, 1.0],
        ["lime", "b", 0, 0, "", 1, 1, 1, 1, 0.1, 1.0],
        ["lime", "a", 0, 1, "fc", 0.1, 0.1, 0.5, 0.9, 0.1, 0.25],
        ["lime", "b", 0, 1, "fc", 0.1, 0.1, 0.5, 0.9, 0.1, 0.75],
        ["gradcam", "a", 0, 1, "fc", 0.1, 0.1, 0.5, 0.2, 0.1, np.nan],
    ]
    run = SanityRun([Block("fc", ("fc",))], ["gradcam", "lime"], pd.DataFrame(rows, columns=COLUMNS), pd.DataFrame())
    t = jaccard_table(run)
    assert list(t.columns) == ["step", "randomized down to", "LIME top-k Jaccard"]
    assert t["randomized down to"].tolist() == ["(trained)", "fc"] and t["LIME top-k Jaccard"].tolist() == [1.0, 0.5]
    no_lime = SanityRun(run.order, ["gradcam"], pd.DataFrame(rows[4:], columns=COLUMNS), pd.DataFrame())
    assert list(jaccard_table(no_lime).columns) == ["note"]


def test_a_seed_that_disagrees_withholds_the_verdict_and_the_seed_table_shows_it():
    # three images, two seeds at step 1: seed 0 well below 0.2, seed 1 at 0.25 on average
    run = _run({1: [[0.05, 0.24], [0.06, 0.25], [0.07, 0.26]]})
    (v,) = verdicts(run, threshold=0.2, within=1)
    assert v.outcome == "undecided" and v.decision.seed_means == pytest.approx((0.06, 0.25))
    assert "seeds disagree" in v.decision.undecided_reason() and "seed means 0.06 to 0.25" in v.decision.describe()
    (alone,) = verdicts(_run({1: [0.05, 0.06, 0.07]}), threshold=0.2, within=1)
    assert alone.outcome == "passes"  # seed 0 alone would have printed a pass

    from xaireport.report.sanity_checks import seed_table

    t = seed_table(run, within=1)
    assert list(t.columns) == ["method", "step", "randomized down to", "seed 0", "seed 1"]
    assert t.loc[0, "seed 0"] == pytest.approx(0.06) and t.loc[0, "seed 1"] == pytest.approx(0.25)


def test_edge_baseline_decides_whether_random_maps_follow_the_edges_more():
    from xaireport.report.sanity_checks import edge_baseline, edge_table

    run = _run({0: [1.0, 1.0, 1.0], 1: [0.1, 0.1, 0.1]}, edges=0.1)
    c = run.cascade
    c.loc[c["step"] == 1, "edges"] = [0.50, 0.55, 0.60]  # every random map follows the edges more, per image
    (e,) = edge_baseline(run)
    assert e.trained == pytest.approx(0.1) and e.random == pytest.approx(0.55)
    assert e.change.outcome == "above" and e.change.mean == pytest.approx(0.45)
    c.loc[c["step"] == 1, "edges"] = [0.5, -0.3, 0.1]  # the images disagree
    (e,) = edge_baseline(run)
    assert e.change.outcome == "undecided"
    assert edge_table([e]).columns.tolist() == [
        "method",
        "trained model",
        "every block random",
        "random − trained (per image)",
    ]
