"""report/words.py: counts and lists in a chapter's sentences."""

from __future__ import annotations

from xaireport.report.words import and_list, count, number


def test_numbers_counts_and_lists():
    assert [number(n) for n in (0, 1, 3, 12, 13)] == ["no", "one", "three", "twelve", "13"]
    assert count(1, "method") == "one method" and count(3, "method") == "three methods"
    assert count(14, "method") == "14 methods" and count(2, "heatmap overlay") == "two heatmap overlays"
    assert count(2, "child", "children") == "two children"
    assert and_list([]) == "nothing" and and_list(["A"]) == "A" and and_list(["A", "B"]) == "A and B"
    assert and_list(["A", "B", "C"]) == "A, B and C"


def test_p_values_never_print_as_zero():
    from xaireport.report.words import p_text, p_value

    assert p_value(3.9e-6) == "< 0.001" and p_text(3.9e-6) == "p < 0.001"
    assert p_value(0.0364) == "0.036" and p_text(0.0364) == "p = 0.036"
    assert p_value(float("nan")) == "—"
