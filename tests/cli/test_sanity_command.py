"""``xaireport sanity``: the chapter-5 run from the command line (``cli/sanity.py``)."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import run_xaireport
from xaireport.results.sanity import COLUMNS


@pytest.mark.slow
def test_cli_sanity_on_two_images_with_gradcam_and_guided_backprop(root, tmp_path):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for name in ("coffee.png", "chelsea.png"):
        (imgs / name).write_bytes((root / "data/images" / name).read_bytes())
    out = tmp_path / "out"
    r = run_xaireport(
        ["sanity", "--profile", "offline", "--images", str(imgs), "--methods", "gradcam,guided_backprop"]
        + ["--seeds", "2", "--out", str(out)],
        cwd=root,
    )
    assert r.returncode == 0, r.stderr
    cascade = pd.read_csv(out / "cascade.csv")
    assert list(cascade.columns) == COLUMNS and not (out / "independent.csv").exists()
    methods = ["gradcam", "guided_backprop", "control:edges", "control:noise"]
    assert list(dict.fromkeys(cascade["method"])) == methods
    # per method: step 0 and the verdict step (2) on 2 images x 2 seeds, the 9 other steps of Lite0's cascade on
    # the first image with the first seed
    assert (cascade.groupby("method").size() == 2 * 2 * 2 + 9).all()
    verdict = cascade[cascade["step"] == 2]
    assert set(verdict["seed"]) == {0, 1} and verdict["spearman_null"].notna().all()
    g = cascade[(cascade["method"] == "gradcam") & (cascade["step"] == 2)]
    assert g[g["seed"] == 0]["spearman"].tolist() != g[g["seed"] == 1]["spearman"].tolist()  # other weights
    edges = cascade[cascade["method"] == "control:edges"]
    assert (edges["spearman"] == 1.0).all()  # the edge control ignores the weights
    assert "× 2 seeds" in r.stdout and (out / "cascade.png").is_file() and (out / "curves.png").is_file()
    lines = {line.split(":")[0]: line for line in r.stdout.splitlines() if "(top 2 block(s) random" in line}
    assert set(lines) == {"Grad-CAM", "Guided Backprop", "Sobel edges (control)", "independent noise (control)"}
    assert lines["Sobel edges (control)"].startswith("Sobel edges (control): fails")
    assert lines["independent noise (control)"].startswith("independent noise (control): passes")
    bad = run_xaireport(["sanity", "--methods", "gradcam,shap", "--out", str(tmp_path / "x")], cwd=root)
    assert bad.returncode == 2 and "unknown method 'shap'" in bad.stderr and not (tmp_path / "x").exists()
