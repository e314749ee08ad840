"""The cached sanity run (``results/sanity.py``): how many images, and a run read back from the cache."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xaireport.methods import sanity


def test_the_plan_runs_the_verdict_step_on_every_image_and_seed_and_the_rest_on_the_shown_images():
    from xaireport.results.sanity import plan

    order = [sanity.Block(f"b{i}", (f"b{i}",)) for i in range(4)]
    p = plan(order, images=5, seeds=[0, 1, 2], within=2, cascade_images=1, independent=False)
    assert p.verdict_step == 2
    verdict = [(m, seed, step, ims) for m, seed, step, ims in p.steps if step == 2]
    assert [(seed, ims) for _, seed, _, ims in verdict] == [
        (0, (0, 1, 2, 3, 4)),
        (1, (0, 1, 2, 3, 4)),
        (2, tuple(range(5))),
    ]
    others = [(m, seed, step, ims) for m, seed, step, ims in p.steps if step != 2]
    assert others == [("cascade", 0, s, (0,)) for s in (1, 3, 4)]  # every other step: first image, first seed
    none = plan(order, images=5, seeds=[0], within=9, cascade_images=0, independent=True)
    assert none.verdict_step == 4 and [s[2] for s in none.steps] == [4]  # within beyond the blocks: all random
    ind = plan(order, images=3, seeds=[0], within=1, cascade_images=2, independent=True)
    assert sum(m == "independent" for m, *_ in ind.steps) == 4 and all(
        ims == (0, 1) for m, _, _, ims in ind.steps if m == "independent"
    )


def test_a_run_survives_the_result_cache(tmp_path):
    """The chapter caches the whole run (issue 15): tables, maps, block order and initializer come back equal."""
    from xaireport.core.cache import ResultCache
    from xaireport.results.sanity import COLUMNS, SanityRun

    rng = np.random.default_rng(0)

    n = 5
    t = pd.DataFrame(rng.random((n, len(COLUMNS))), columns=COLUMNS)
    t["method"], t["image"], t["randomized"] = "gradcam", "a.png", [f"blocks.{i}" for i in range(n)]
    t["mode"] = ["cascade"] * 3 + ["independent"] * 2
    t["step"], t["seed"] = np.arange(n), 0
    t["control"], t["constant"] = False, [True, False, False, False, True]
    order = [sanity.Block("classifier", ("classifier",)), sanity.Block("conv_head", ("conv_head", "bn2"))]
    maps = {("gradcam", 0): rng.random((8, 8)).astype(np.float32), ("control:noise", 2): rng.random((8, 8))}
    run = SanityRun(order, ["gradcam", "control:noise"], t, 2, [0, 1], maps, rng.integers(0, 255, (8, 8, 3)), "init")
    cache = ResultCache(tmp_path)
    cache.save("sanity", "k", *run.record())
    back = SanityRun.from_record(*cache.load("sanity", "k"))
    assert back.order == order and back.methods == run.methods and back.initializer == "init"
    assert back.verdict_step == 2 and back.seeds == [0, 1] and back.explained == ["gradcam"]
    pd.testing.assert_frame_equal(back.table, run.table, check_dtype=False)
    assert len(back.cascade) == 3 and len(back.independent) == 2
    assert back.first_maps.keys() == maps.keys() and all(np.array_equal(back.first_maps[k], maps[k]) for k in maps)
    assert np.array_equal(back.first_crop, run.first_crop)
