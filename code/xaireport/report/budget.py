"""What a render changed from the defaults to fit a time budget: the sample counts, steps and levels each chapter
costs, and the sentence a chapter prints when a profile (or the reader) lowered them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xaireport.settings import Settings

#: Per chapter, the settings that set its cost (and the precision of what it prints).
CHAPTER_COSTS: dict[str, tuple[str, ...]] = {
    "cam-methods": ("cams.road_percentiles",),
    "lime": ("lime.num_samples", "lime.stability_seeds"),
    "sanity-checks": ("sanity.seeds", "sanity.lime_num_samples"),
    "method-evaluation": (
        "evaluation.sensitivity_samples",
        "evaluation.deletion_steps",
        "cams.road_percentiles",
        "attributions.ig_steps",
        "attributions.shap_samples",
        "attributions.occlusion_window",
        "attributions.occlusion_stride",
        "lime.num_samples",
        "sanity.seeds",
        "sanity.lime_num_samples",
    ),
}


def changed_settings(settings: Settings, keys: tuple[str, ...]) -> list[tuple[str, object, object]]:
    """``(dotted key, this render's value, the default)`` of every one of ``keys`` this render changed (a profile
    fitting a time budget, or the reader's own choice): what the chapter must state."""
    from xaireport.settings import defaults

    base, current = defaults(), settings.as_dict()
    out = []
    for key in keys:
        section, name = key.split(".")
        value, default = current[section][name], base[section][name]
        if value != default:
            out.append((key, value, default))
    return out


def _value(v: object) -> str:
    return ", ".join(str(x) for x in v) if isinstance(v, list) else str(v)


def budget_sentence(settings: Settings, chapter: str, consequence: str) -> str:
    """Markdown: "To fit its time budget this render lowers `key` to value (default d), …: <consequence>." when the
    chapter's cost settings differ from the defaults, else "Every sample count is the default."."""
    changed = changed_settings(settings, CHAPTER_COSTS[chapter])
    if not changed:
        return "Every sample count is the default."
    listed = ", ".join(f"`{k}` to {_value(v)} (default {_value(d)})" for k, v, d in changed)
    return f"To fit its time budget this render lowers {listed}: {consequence}."
