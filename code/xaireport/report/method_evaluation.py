"""Chapter 6 (``chapters/method-evaluation.qmd``): every method's measures (:mod:`xaireport.results.evaluation`)
as a summary table, a ranking per criterion, a methods × criteria figure and the decided conclusion."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from xaireport.methods.decision import ABOVE, BELOW, Decision, decide
from xaireport.methods.registry import label
from xaireport.report.figures import cached_figure, save_figure
from xaireport.results import evaluation
from xaireport.results.explanations import explain

if TYPE_CHECKING:
    from xaireport.session import Session
    from xaireport.settings import Settings


@dataclass(frozen=True)
class Criterion:
    column: str
    title: str  # table and figure heading
    better: str  # "higher" or "lower"
    group: str  # faithfulness, model dependence, robustness, complexity, cost


CRITERIA = [
    Criterion("road", "ROAD ↑", "higher", "faithfulness"),
    Criterion("deletion", "deletion ↓", "lower", "faithfulness"),
    Criterion("insertion", "insertion ↑", "higher", "faithfulness"),
    Criterion("randomized_rho", "random |ρ| ↓", "lower", "model dependence"),
    Criterion("random_logit_ssim", "other-class SSIM ↓", "lower", "model dependence"),
    Criterion("max_sensitivity", "max-sensitivity ↓", "lower", "robustness"),
    Criterion("gini", "Gini ↑", "higher", "complexity"),
    Criterion("seconds", "seconds ↓", "lower", "cost"),
    Criterion("peak_mb", "added MB ↓", "lower", "cost"),
]

#: The summary is shown as two tables, so that each fits a printed page.
SUMMARY_PARTS = (("faithfulness", "model dependence"), ("robustness", "complexity", "cost"))


#: The settings that set chapter 6's cost: sample counts, steps and patch sizes of the methods and measures.
COST_SETTINGS = (
    "evaluation.sensitivity_samples",
    "evaluation.deletion_steps",
    "attributions.ig_steps",
    "attributions.shap_samples",
    "attributions.occlusion_window",
    "attributions.occlusion_stride",
    "lime.num_samples",
    "sanity.seeds",
)


def changed_cost_settings(settings: Settings) -> list[tuple[str, object, object]]:
    """``(dotted key, this render's value, the default)`` of every :data:`COST_SETTINGS` entry this render changed
    (a profile fitting a time budget, or the reader's own choice): what the chapter must state."""
    from xaireport.settings import defaults

    base, current = defaults(), settings.as_dict()
    out = []
    for key in COST_SETTINGS:
        section, name = key.split(".")
        value, default = current[section][name], base[section][name]
        if value != default:
            out.append((key, value, default))
    return out


def summary(table: pd.DataFrame, methods: list[str], groups: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Mean over images per method (rows, in ``methods`` order) and criterion (those of ``groups``, or all)."""
    chosen = [c for c in CRITERIA if groups is None or c.group in groups]
    t = table.groupby("method", sort=False)[[c.column for c in chosen]].mean().reindex(methods)
    t.index = [label(m) for m in t.index]
    t.columns = [c.title for c in chosen]
    return t.rename_axis("method").reset_index()


def ranks(table: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Rank per criterion (1 = best by the mean over images; ties share the lower rank), methods as rows."""
    means = table.groupby("method", sort=False)[[c.column for c in CRITERIA]].mean().reindex(methods)
    out = pd.DataFrame(index=[label(m) for m in methods])
    for c in CRITERIA:
        r = means[c.column].rank(ascending=c.better == "lower", method="min")
        out[c.title] = r.to_numpy()
    out = out.astype("Int64")
    return out.rename_axis("method").reset_index()


def seed_columns(table: pd.DataFrame) -> list[str]:
    """The per-seed |ρ| columns (``rho_seed0``, ``rho_seed1``, …) in seed order."""
    return sorted((c for c in table.columns if c.startswith("rho_seed")), key=lambda c: int(c.removeprefix("rho_seed")))


def randomization_decisions(table: pd.DataFrame, threshold: float) -> dict[str, Decision]:
    """Per method: chapter 5's decision on |ρ| (images × seeds) against the threshold."""
    seeds = seed_columns(table)
    return {m: decide(g[seeds].to_numpy(dtype=float), threshold) for m, g in table.groupby("method", sort=False)}


def most_faithful(table: pd.DataFrame, methods: list[str]) -> tuple[str, list[str], dict[str, Decision]]:
    """The method with the highest mean ROAD, and the methods not decided worse than it (paired per-image
    differences best − other, decided above 0 with :func:`decide`); with the decision for each other method."""
    wide = table.pivot(index="image", columns="method", values="road")[methods]
    best = str(wide.mean().idxmax())
    decisions = {m: decide((wide[best] - wide[m]).to_numpy(), 0.0) for m in methods if m != best}
    tied = [best] + [m for m, d in decisions.items() if d.outcome != ABOVE]
    return best, tied, decisions


@dataclass
class Conclusion:
    passing: list[str]  # decided below the threshold after randomization
    failing: list[str]
    undecided: list[str]
    best: str
    most_faithful: list[str]  # not decided worse than the best by ROAD
    trusted: list[str]  # passing and most faithful
    images: int
    contrast: Decision | None  # Guided Backprop's |ρ| − Saliency's, per image and seed (Adebayo et al. 2018)
    randomization: dict[str, Decision]  # per method: :func:`randomization_decisions`


def conclude(table: pd.DataFrame, methods: list[str], threshold: float) -> Conclusion:
    rand = randomization_decisions(table, threshold)
    passing = [m for m in methods if rand[m].outcome == BELOW]
    failing = [m for m in methods if rand[m].outcome == ABOVE]
    undecided = [m for m in methods if rand[m].outcome not in (ABOVE, BELOW)]
    best, tied, _ = most_faithful(table, methods)
    contrast = None
    if {"guided_backprop", "saliency"} <= set(methods):
        seeds = seed_columns(table)
        g = table[table["method"] == "guided_backprop"].set_index("image")[seeds]
        s = table[table["method"] == "saliency"].set_index("image")[seeds]
        contrast = decide((g - s.reindex(g.index)).to_numpy(dtype=float), 0.0)
    n = int(table["image"].nunique())
    trusted = [m for m in tied if m in passing] if len(tied) < len(methods) else []
    return Conclusion(passing, failing, undecided, best, tied, trusted, n, contrast, rand)


def rank_colours(ranks: np.ndarray, worst: int) -> np.ndarray:
    """RGBA per cell for ranks 1 (best: dark) to ``worst`` (light), viridis; a missing rank is light grey."""
    from matplotlib import colormaps

    scaled = (np.asarray(ranks, dtype=float) - 1) / max(worst - 1, 1)
    out = colormaps["viridis"](np.nan_to_num(scaled, nan=0.0))
    out[np.isnan(scaled)] = (0.9, 0.9, 0.9, 1.0)
    return out


@cached_figure
def criteria_figure(rank_table: pd.DataFrame, summary_table: pd.DataFrame, path: Path) -> Path:
    """Methods (rows) × criteria (columns): colour = rank (dark = best), text = the mean."""
    import matplotlib.pyplot as plt

    r = rank_table.set_index("method")
    v = summary_table.set_index("method")
    n_m, n_c = r.shape
    fig, ax = plt.subplots(figsize=(1.05 * n_c + 2.2, 0.38 * n_m + 1.6))
    ranks_arr = r.to_numpy(dtype=float)
    ax.imshow(rank_colours(ranks_arr, n_m), aspect="auto")
    for i in range(n_m):
        for j in range(n_c):
            val = v.iloc[i, j]
            text = "—" if pd.isna(val) else (f"{val:.0f}" if abs(val) >= 100 else f"{val:.2f}")
            colour = "white" if ranks_arr[i, j] <= n_m / 2 else "black"  # light text on the dark (best) half
            ax.text(j, i, text, ha="center", va="center", fontsize=7.5, color=colour)
    ax.set_xticks(range(n_c), list(r.columns), rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(n_m), list(r.index), fontsize=8)
    ax.set_title("rank per criterion (dark = best); numbers: mean over images", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


@cached_figure
def gallery_figure(
    crop: np.ndarray, maps: dict[str, np.ndarray], outlier_percent: float, path: Path, cols: int = 5
) -> Path:
    """The first image, then every method's map of it as a heat map (:func:`~xaireport.report.figures.displayed`:
    the scaling of the method's family, ``outlier_percent`` for gradient and perturbation maps), in rows of
    ``cols``, with one colour bar."""
    from xaireport.methods.registry import get
    from xaireport.report.figures import MAP_CMAP, displayed, image_grid

    cells = [crop] + [displayed(m, get(n), outlier_percent) for n, m in maps.items()]
    titles = ["input"] + [label(n) for n in maps]
    blank = np.full_like(crop, 255)
    while len(cells) % cols:
        cells.append(blank)
        titles.append("")
    rows = [cells[i : i + cols] for i in range(0, len(cells), cols)]
    title_rows = [titles[i : i + cols] for i in range(0, len(titles), cols)]
    fig = image_grid(
        rows,
        [""] * len(rows),
        [""] * cols,
        cell_titles=title_rows,
        cmap=MAP_CMAP,
        size=1.7,
        titles_only=True,
        colorbar="positive evidence (1 = the map's top)",
    )
    return save_figure(fig, path)


@dataclass
class Chapter:
    table: pd.DataFrame  # one row per method and image
    methods: list[str]  # in the order evaluated
    summary: pd.DataFrame
    ranks: pd.DataFrame
    figure: Path
    gallery: Path
    csv: Path
    conclusion: Conclusion
    identical: list[tuple[list[str], float]]  # methods whose maps are the same here, with the largest difference


def prepare(session: Session) -> Chapter:
    from xaireport.core.fileio import save_csv

    s = session.settings
    table = evaluation.run(session)
    methods = list(dict.fromkeys(table["method"]))
    summ, rk = summary(table, methods), ranks(table, methods)
    csv = save_csv(table, session.results_dir("evaluation") / "evaluation.csv", float_format="%.6f")
    fig_dir = session.figures_dir("evaluation")
    fig = criteria_figure(rk, summ, fig_dir / "criteria.png")
    first = evaluation.images_for(session)[0]
    maps = {m: explain(session, first, session.method(m)).heatmap for m in methods}
    gallery = gallery_figure(
        session.classifier().crop(first.array), maps, s.display.outlier_percent, fig_dir / "gallery.png"
    )
    return Chapter(
        table,
        methods,
        summ,
        rk,
        fig,
        gallery,
        csv,
        conclude(table, methods, s.sanity.threshold),
        evaluation.identical_maps(session, [session.method(m) for m in methods], evaluation.images_for(session)),
    )


def randomization_table(ch: Chapter) -> pd.DataFrame:
    """Per method: the decision on |ρ| after randomization (chapter 5's rule) with its interval."""
    decisions = ch.conclusion.randomization
    return pd.DataFrame(
        {
            "method": [label(m) for m in decisions],
            "mean |ρ|": [d.mean for d in decisions.values()],
            "95% CI": [f"{d.low:.2f} to {d.high:.2f}" if d.images > 1 else "—" for d in decisions.values()],
            "seed means": [", ".join(f"{x:.2f}" for x in d.seed_means) for d in decisions.values()],
            "verdict": [
                {BELOW: "passes", ABOVE: "fails"}.get(d.outcome) or d.not_decided() for d in decisions.values()
            ],
        }
    )
