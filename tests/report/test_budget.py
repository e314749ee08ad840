"""A profile that lowers a sample count to fit its time budget: every chapter that uses it names it, with its
default (issue 34)."""

from __future__ import annotations

import re
from pathlib import Path

from xaireport.report.budget import CHAPTER_COSTS, budget_sentence, changed_settings
from xaireport.settings import defaults, load

CHAPTERS = Path(__file__).resolve().parents[2] / "chapters"


def test_every_cost_key_is_a_setting_and_every_chapter_prints_its_sentence():
    d = defaults()
    for chapter, keys in CHAPTER_COSTS.items():
        for key in keys:
            section, name = key.split(".")
            assert name in d[section], key
        text = (CHAPTERS / f"{chapter}.qmd").read_text()
        assert re.search(rf'budget_sentence\(\s*s,\s*"{chapter}"', text), chapter


def test_the_default_profile_lowers_nothing(root):
    s = load("", root)
    for chapter in CHAPTER_COSTS:
        assert changed_settings(s, CHAPTER_COSTS[chapter]) == []
        assert budget_sentence(s, chapter, "x") == "Every sample count is the default."


def test_the_offline_profile_names_each_lowered_count_with_its_default(root):
    s = load("offline", root)
    lime = budget_sentence(s, "lime", "noisier")
    assert lime == (
        "To fit its time budget this render lowers `lime.num_samples` to 500 (default 1000), "
        "`lime.stability_seeds` to 3 (default 5): noisier."
    )
    assert "`cams.road_percentiles` to 10, 30, 50, 70, 90 (default 10, 20, 30, 40, 50, 60, 70, 80, 90)" in (
        budget_sentence(s, "cam-methods", "coarser")
    )
    assert "`sanity.seeds` to 2 (default 3)" in budget_sentence(s, "sanity-checks", "wider")
    changed = {k for k, _, _ in changed_settings(s, CHAPTER_COSTS["method-evaluation"])}
    assert changed == {
        "evaluation.sensitivity_samples",
        "evaluation.deletion_steps",
        "cams.road_percentiles",
        "lime.num_samples",
        "sanity.seeds",
    }


def test_the_smoke_profile_lowers_only_cost_settings(root):
    smoke = {k: (v, d) for k, v, d in changed_settings(load("smoke", root), CHAPTER_COSTS["method-evaluation"])}
    assert smoke["evaluation.sensitivity_samples"] == (1, 3)


def test_a_readers_override_is_named_too(root):
    s = load("", root, overrides={"attributions.ig_steps": 7})
    assert changed_settings(s, CHAPTER_COSTS["method-evaluation"]) == [("attributions.ig_steps", 7, 50)]
