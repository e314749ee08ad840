"""The cached sanity run (``results/sanity.py``): how many images, and a run read back from the cache."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xaireport.methods import sanity


def test_image_count_defaults_to_all_on_a_gpu_and_three_on_a_cpu():
    from xaireport.results.sanity import CPU_IMAGES, image_count

    assert image_count(None, "cuda") is None and image_count(None, "cpu") == CPU_IMAGES == 3
    assert image_count(5, "cpu") == 5 and image_count(1, "cuda") == 1


def test_a_run_survives_the_result_cache(tmp_path):
    """The chapter caches the whole run (issue 15): tables, maps, block order and initializer come back equal."""
    from xaireport.core.cache import ResultCache
    from xaireport.results.sanity import COLUMNS, SanityRun

    rng = np.random.default_rng(0)

    def table(n: int) -> pd.DataFrame:
        t = pd.DataFrame(rng.random((n, len(COLUMNS))), columns=COLUMNS)
        t["method"], t["image"], t["randomized"] = "gradcam", "a.png", [f"blocks.{i}" for i in range(n)]
        t["step"] = np.arange(n)
        return t

    order = [sanity.Block("classifier", ("classifier",)), sanity.Block("conv_head", ("conv_head", "bn2"))]
    maps = {("gradcam", 0): rng.random((8, 8)).astype(np.float32), ("lime", 2): rng.random((8, 8))}
    run = SanityRun(order, ["gradcam", "lime"], table(3), table(2), maps, rng.integers(0, 255, (8, 8, 3)), "init")
    cache = ResultCache(tmp_path)
    cache.save("sanity", "k", *run.record())
    back = SanityRun.from_record(*cache.load("sanity", "k"))
    assert back.order == order and back.methods == run.methods and back.initializer == "init"
    pd.testing.assert_frame_equal(back.cascade, run.cascade)
    pd.testing.assert_frame_equal(back.independent, run.independent)
    assert back.first_maps.keys() == maps.keys() and all(np.array_equal(back.first_maps[k], maps[k]) for k in maps)
    assert np.array_equal(back.first_crop, run.first_crop)
