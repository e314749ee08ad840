"""The published site: the publish workflow, offline math, enlargeable figures, and tables a reader can use."""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml

from xaireport.report.tables import column_decimals, formatted, markdown


def test_publish_workflow_is_valid_and_renders_then_publishes(root):
    wf = yaml.safe_load((root / ".github/workflows/publish.yml").read_text())
    on = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as True
    assert on["push"]["branches"] == ["main"] and "workflow_dispatch" in on
    steps = wf["jobs"]["render-and-publish"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    order = [next(i for i, u in enumerate(uses) if u.startswith(a)) for a in (
        "actions/checkout@", "quarto-dev/quarto-actions/setup@", "actions/cache@",
        "quarto-dev/quarto-actions/render@", "quarto-dev/quarto-actions/publish@")]  # fmt: skip
    assert order == sorted(order)
    publish = steps[order[-1]]
    assert publish["with"] == {"target": "gh-pages", "render": False}
    cache = steps[order[2]]["with"]
    assert "data/cache" in cache["path"] and "hashFiles('code/xaireport/**/*.py'" in cache["key"]
    assert any("make setup" in s.get("run", "") for s in steps)
    assert "publish:" in (root / "Makefile").read_text()


def test_site_needs_no_network_for_math_and_enlarges_figures(root):
    html = yaml.safe_load((root / "_quarto.yml").read_text())["format"]["html"]
    assert html["html-math-method"] == "mathml" and html["lightbox"] is True


def test_tables_have_no_index_one_format_per_column_and_no_scientific_notation():
    df = pd.DataFrame({"n": [1, 20], "x": [0.5, np.nan], "tiny": [-2.662e-4, 1e-5], "ok": [True, False]})
    text = markdown(df)
    assert text.splitlines()[0].split("|")[1].strip() == "n"  # no index column
    assert "e-0" not in text and "-0.00027" in text and "0.500" in text and "—" in text
    rule = text.splitlines()[1].strip("|").split("|")
    assert "yes" in text and [r.endswith(":") for r in rule] == [True, True, True, False]  # numbers right-aligned
    assert column_decimals([0.5, 12.0], 3) == 3 and column_decimals([2.7e-4], 3) == 5
    pivot = pd.DataFrame({"image": ["a", "a"], "method": ["G", "S"], "ROAD": [0.1, 0.2]}).pivot(
        index="image", columns="method", values=["ROAD"]
    )
    out = formatted(pivot)
    assert list(out.columns) == ["image", "ROAD G", "ROAD S"] and out.iloc[0, 0] == "a"
    runtime = pd.DataFrame({"mean s / image": [0.25]}, index=["Grad-CAM"])
    assert list(formatted(runtime).columns) == ["", "mean s / image"]  # a meaningful index is kept as a column


def test_provenance_names_commit_versions_and_device(root, tmp_path):
    import re

    import torch

    from xaireport.report import provenance

    rows = dict(provenance.rows(root, torch.device("cpu")))
    assert re.fullmatch(r"[0-9a-f]{12}( \(modified\))?", rows["git commit"])
    assert f"torch {torch.__version__.split('+')[0]}" in rows["packages"] and "grad-cam " in rows["packages"]
    assert rows["device"].startswith("cpu (") and "cores)" in rows["device"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", rows["rendered"])
    assert provenance.git_commit(tmp_path) == "not a git checkout"


def test_provenance_counts_the_results_this_render_computed(tmp_path):
    import os

    import yaml

    from xaireport.report import provenance

    cache = tmp_path / "cache"
    (cache / "cams").mkdir(parents=True)
    for i, mtime in enumerate((100, 200, 300)):
        (cache / "cams" / f"{i}.npz").write_bytes(b"x")
        os.utime(cache / "cams" / f"{i}.npz", (mtime, mtime))
    assert provenance.cache_use(cache, 250, now=250 + 90) == (
        "1 results computed, the others read from the cache (3 entries in all); 1.5 min from the start of the "
        "render to this page"
    )
    assert provenance.cache_use(cache, 400, now=400).startswith("every result read from the cache (3 entries)")
    assert provenance.cache_use(cache, None).startswith("unknown")
    assert provenance.render_started(tmp_path) is None
    (tmp_path / "_variables.yml").write_text(yaml.safe_dump({"render": {"started": 123}}))
    assert provenance.render_started(tmp_path) == 123.0
    assert not dict(provenance.rows(tmp_path, "cpu", cache))["result cache"].startswith("unknown")


def test_footer_variables_name_the_render_date_and_profile(root):
    import datetime as dt

    from xaireport.report.render_info import variables

    v = variables("offline", dt.datetime(2026, 11, 27, 9, 5, tzinfo=dt.timezone.utc))
    assert v == {"render": {"date": "2026-11-27 09:05 UTC", "profile": "offline", "started": 1795770300}}
    assert variables("")["render"]["profile"] == "default"
    config = yaml.safe_load((root / "_quarto.yml").read_text())
    assert "{{< var render.date >}}" in config["website"]["page-footer"]["center"]
    assert config["project"]["pre-render"].endswith("render_info.py")


def test_tables_link_their_csv_files_relative_to_the_page(root, tmp_path):
    from xaireport.report import open_report

    rep = open_report("smoke")
    csv = rep.results_dir("comparison") / "linked.csv"
    csv.write_text("a\n1\n")
    try:
        line = rep.data_links(csv, tmp_path / "missing.csv")
        assert line == "Data: [linked.csv](../data/results/smoke/comparison/linked.csv).\n"
    finally:
        csv.unlink()
    assert rep.data_links(tmp_path / "missing.csv") == ""
    assert "data/results/**/*.csv" in yaml.safe_load((root / "_quarto.yml").read_text())["project"]["resources"]


def test_large_figures_print_within_the_pdf_text_area(tmp_path):
    import matplotlib.pyplot as plt
    from PIL import Image

    from xaireport.report.figures import DPI, PRINT_HEIGHT_IN, PRINT_WIDTH_IN, save_figure

    tall = save_figure(plt.figure(figsize=(8, 20)), tmp_path / "tall.png")
    small = save_figure(plt.figure(figsize=(3, 2)), tmp_path / "small.png")
    with Image.open(tall) as im:
        w, h = im.size
        dpi = im.info["dpi"][0]
    assert h / dpi <= PRINT_HEIGHT_IN + 1e-3 and w / dpi <= PRINT_WIDTH_IN + 1e-3
    assert h > 20 * DPI * 0.9  # the pixels are kept: the website shows the full-resolution figure
    with Image.open(small) as im:
        assert abs(im.info["dpi"][0] - DPI) < 1  # small figures keep their size


def test_large_tables_are_sortable_and_searchable_on_the_site_only():
    from xaireport.report.tables import interactive

    df = pd.DataFrame({"unit": [3, 1, 2], "description": ["sky", "dog <b>", "tree"], "similarity": [0.5, 0.25, 0.75]})
    md = interactive(df, "units-x")
    assert md.startswith('::: {.content-visible when-format="html"}\n```{=html}\n') and md.endswith("```\n:::\n")
    assert md.count("<tr>") == 4 and "dog &lt;b&gt;" in md  # header + 3 rows, text escaped
    assert 'id="units-x-filter"' in md and 'getElementById("units-x")' in md and "http" not in md
    assert '<td style="text-align:right">0.250</td>' in md
