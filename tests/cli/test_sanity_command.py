"""``xaireport sanity``: the chapter-5 run from the command line (``cli/sanity.py``)."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import run_xaireport


@pytest.mark.slow
def test_cli_sanity_on_one_image_with_gradcam(root, tmp_path):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    (imgs / "coffee.png").write_bytes((root / "data/images/coffee.png").read_bytes())
    out = tmp_path / "out"
    r = run_xaireport(
        ["sanity", "--profile", "offline", "--images", str(imgs), "--methods", "gradcam", "--seeds", "2"]
        + ["--out", str(out)],
        cwd=root,
    )
    assert r.returncode == 0, r.stderr
    cascade, independent = pd.read_csv(out / "cascade.csv"), pd.read_csv(out / "independent.csv")
    cols = ["method", "image", "seed", "step", "randomized", "spearman", "spearman_abs", "ssim", "hog", "edges"]
    assert list(cascade.columns) == [*cols, "jaccard"] and list(independent.columns) == [*cols, "jaccard"]
    # trained + 10 blocks of Lite0, for each of the 2 randomization seeds; the independent run uses the first
    assert len(cascade) == 22 and cascade["step"].tolist() == list(range(11)) * 2
    assert cascade["seed"].tolist() == [0] * 11 + [1] * 11 and set(independent["seed"]) == {0}
    first, second = cascade[cascade["seed"] == 0], cascade[cascade["seed"] == 1]
    assert first["spearman"].iloc[1:].tolist() != second["spearman"].iloc[1:].tolist()  # other random weights
    assert first["edges"].iloc[0] == second["edges"].iloc[0] and -1 <= first["edges"].iloc[0] <= 1
    assert cascade.loc[0, "spearman"] == 1.0 and pd.isna(cascade.loc[0, "randomized"])
    assert "× 2 seeds" in r.stdout
    assert len(independent) == 10 and set(independent["randomized"]) == set(first["randomized"][1:])
    assert (out / "cascade.png").is_file() and (out / "curves.png").is_file()
    assert any(f"Grad-CAM: {v}" in r.stdout for v in ("passes (", "fails (", "not decided on "))
    bad = run_xaireport(["sanity", "--methods", "gradcam,shap", "--out", str(tmp_path / "x")], cwd=root)
    assert bad.returncode == 2 and "unknown method 'shap'" in bad.stderr and not (tmp_path / "x").exists()
