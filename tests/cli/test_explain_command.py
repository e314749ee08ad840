"""``xaireport explain``: every output file of a method the figures draw with outlier scaling (issue 37)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import run_xaireport


@pytest.mark.slow
def test_explain_writes_the_map_and_its_png_as_the_report_draws_it(root, tmp_path):
    from xaireport.methods.display import displayed
    from xaireport.methods.registry import get
    from xaireport.settings import load

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    (imgs / "coffee.png").write_bytes((root / "data/images/coffee.png").read_bytes())
    out = tmp_path / "out"
    r = run_xaireport(
        ["explain", "--profile", "offline", "--images", str(imgs), "--methods", "guided_backprop,gradcam"]
        + ["--out", str(out)],
        cwd=root,
    )
    assert r.returncode == 0, r.stderr
    percent = load(profile="offline", project_dir=root).display.outlier_percent
    for name in ("guided_backprop", "gradcam"):
        raw = np.load(out / name / "coffee.npy")
        shown = displayed(raw, get(name), percent)
        mask = np.asarray(Image.open(out / name / "coffee-mask.png"), dtype=np.int16)
        assert mask.shape == raw.shape and np.abs(mask - np.rint(shown * 255)).max() <= 1
        assert np.mean(mask > 0.25 * 255) >= 0.01
        assert Image.open(out / name / "coffee.png").size == raw.shape[::-1]
    gbp = np.load(out / "guided_backprop" / "coffee.npy")
    shown = displayed(gbp, get("guided_backprop"), percent)
    assert np.abs(gbp - shown).max() > 0.01  # the .npy keeps the map itself; only the pictures are scaled
