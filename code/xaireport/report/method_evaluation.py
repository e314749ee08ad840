"""Chapter 6 (``chapters/method-evaluation.qmd``): every method's measures (:mod:`xaireport.results.evaluation`)
as summary tables, rankings with their tests (:mod:`xaireport.methods.ranking`), a methods × measures figure and the
conclusion. Every list of measures is the measure registry (:mod:`xaireport.methods.measures`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from xaireport.methods import measures as measure_registry
from xaireport.methods.decision import Decision, decide
from xaireport.methods.measures import Measure
from xaireport.methods.ranking import NO_RANKING, Ranking, rank_methods
from xaireport.report.figures import cached_figure, save_figure
from xaireport.report.words import p_value
from xaireport.results import evaluation
from xaireport.results.evaluation import EvaluationRun
from xaireport.results.explanations import explain

if TYPE_CHECKING:
    from xaireport.results.sanity import Verdict
    from xaireport.session import Session


def measures(run: EvaluationRun, categories: tuple[str, ...] | None = None) -> list[Measure]:
    """The run's measures (registry records, registry order), those of ``categories`` when given."""
    return [
        measure_registry.MEASURES[n]
        for n in run.measures
        if n in measure_registry.MEASURES
        and (categories is None or measure_registry.MEASURES[n].category in categories)
    ]


#: The summary is shown as two tables, so that each fits a printed page.
SUMMARY_PARTS = (("faithfulness", "randomisation"), ("robustness", "complexity", "cost"))


def summary(run: EvaluationRun, categories: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Mean over images per method (rows, in evaluation order; identical methods one row) and measure."""
    chosen = measures(run, categories)
    t = run.table.groupby("method", sort=False)[[m.name for m in chosen]].mean().reindex(run.methods)
    t.index = [run.labels[m] for m in t.index]
    t.columns = [m.title for m in chosen]
    return t.rename_axis("method").reset_index()


def rankings(run: EvaluationRun) -> dict[str, Ranking]:
    """Per measure: Friedman's test over the methods, then Holm-corrected comparisons with the best
    (:func:`xaireport.methods.ranking.rank_methods`)."""
    return {m.name: rank_methods(run.values(m.name), m.better) for m in measures(run)}


def rank_table(run: EvaluationRun, ranks: dict[str, Ranking]) -> pd.DataFrame:
    """Friedman's mean rank of each method per measure (1 = best on every image; equal values share the average)."""
    out = pd.DataFrame(index=[run.labels[m] for m in run.methods])
    for m in measures(run):
        out[m.title] = [ranks[m.name].mean_ranks[x] for x in run.methods]
    return out.rename_axis("method").reset_index()


def ranking_table(run: EvaluationRun, ranks: dict[str, Ranking]) -> pd.DataFrame:
    """Per measure: Friedman's p, what it supports (the best, the methods among the best, or no ranking) and the
    methods not significantly worse than the best (Holm-corrected paired t-tests)."""
    rows = []
    for m in measures(run):
        r = ranks[m.name]
        everyone = r.ranked and len(r.among_best) == len(run.methods)
        rows.append(
            {
                "measure": m.title,
                "Friedman p": p_value(r.friedman_p),
                # Friedman rejects, yet no method is significantly worse than the best: nothing is separated
                "supports": "no method shown worse than the best" if everyone else r.outcome,
                "best (mean)": run.labels[r.best] if r.ranked else "—",
                "among the best": ", ".join(run.labels[x] for x in r.among_best) if r.ranked else "—",
            }
        )
    return pd.DataFrame(rows)


def rank_colours(ranks: np.ndarray, worst: float) -> np.ndarray:
    """RGBA per cell for mean ranks 1 (best: dark) to ``worst`` (light), viridis; a missing rank is light grey."""
    from matplotlib import colormaps

    scaled = (np.asarray(ranks, dtype=float) - 1) / max(worst - 1, 1)
    out = colormaps["viridis"](np.nan_to_num(scaled, nan=0.0))
    out[np.isnan(scaled)] = (0.9, 0.9, 0.9, 1.0)
    return out


@cached_figure
def criteria_figure(rank_frame: pd.DataFrame, summary_frame: pd.DataFrame, path: Path) -> Path:
    """Methods (rows) × measures (columns): colour = Friedman mean rank (dark = best), text = the mean."""
    import matplotlib.pyplot as plt

    r = rank_frame.set_index("method")
    v = summary_frame.set_index("method")
    n_m, n_c = r.shape
    fig, ax = plt.subplots(figsize=(1.05 * n_c + 2.6, 0.38 * n_m + 1.6))
    ranks_arr = r.to_numpy(dtype=float)
    ax.imshow(rank_colours(ranks_arr, n_m), aspect="auto")
    for i in range(n_m):
        for j in range(n_c):
            val = v.iloc[i, j]
            text = "—" if pd.isna(val) else (f"{val:.0f}" if abs(val) >= 100 else f"{val:.2f}")
            colour = "white" if ranks_arr[i, j] <= (n_m + 1) / 2 else "black"  # light text on the dark (best) half
            ax.text(j, i, text, ha="center", va="center", fontsize=7.5, color=colour)
    ax.set_xticks(range(n_c), list(r.columns), rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(n_m), list(r.index), fontsize=8)
    ax.set_title("mean rank over images per measure (dark = best); numbers: mean over images", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


@cached_figure
def gallery_figure(
    crop: np.ndarray,
    maps: dict[str, np.ndarray],
    titles_of: dict[str, str],
    outlier_percent: float,
    path: Path,
    cols: int = 5,
) -> Path:
    """The first image, then every method's map of it (``maps``: method name → map; ``titles_of``: its title, the
    merged label of identical methods) as a heat map (:func:`~xaireport.report.figures.displayed`: the scaling of
    the method's family, ``outlier_percent`` for gradient and perturbation maps), in rows of ``cols``, with one
    colour bar."""
    from xaireport.methods.display import displayed
    from xaireport.methods.registry import get, label
    from xaireport.report.figures import MAP_CMAP, image_grid

    cells = [crop] + [displayed(m, get(n), outlier_percent) for n, m in maps.items()]
    titles = ["input"] + [titles_of.get(n, label(n)) for n in maps]
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
class Conclusion:
    """What chapter 6 concludes, each part decided with its test."""

    passing: list[str]  # chapter 5's rule: passes
    failing: list[str]
    undecided: list[str]
    faithfulness: Ranking  # on ROAD (the first faithfulness measure)
    trusted: list[str]  # passing and among the most faithful (empty when ROAD ranks nothing)
    images: int
    contrast: Decision | None  # Guided Backprop's randomization difference − Saliency's, per image
    verdicts: dict[str, Verdict]

    @property
    def faithfulness_ranked(self) -> bool:
        return self.faithfulness.outcome != NO_RANKING


def conclude(run: EvaluationRun, ranks: dict[str, Ranking]) -> Conclusion:
    outcome = {m: v.outcome for m, v in run.verdicts.items()}
    passing = [m for m in run.methods if outcome.get(m) == "passes"]
    failing = [m for m in run.methods if outcome.get(m) == "fails"]
    undecided = [m for m in run.methods if outcome.get(m, "undecided") == "undecided"]
    faith = ranks[measures(run, ("faithfulness",))[0].name]
    trusted = [m for m in faith.among_best if m in passing] if faith.outcome != NO_RANKING else []
    contrast = None
    rows = {m for m in run.methods}
    if {"guided_backprop", "saliency"} <= rows and "randomization" in run.measures:
        v = run.values("randomization")
        contrast = decide((v["guided_backprop"] - v["saliency"]).to_numpy(dtype=float), 0.0)
    return Conclusion(passing, failing, undecided, faith, trusted, len(run.images), contrast, run.verdicts)


@dataclass
class Chapter:
    run: EvaluationRun
    summary: list[pd.DataFrame]  # one per :data:`SUMMARY_PARTS`
    rankings: dict[str, Ranking]
    ranks: pd.DataFrame
    ranking: pd.DataFrame
    figure: Path
    gallery: Path
    csv: Path
    conclusion: Conclusion

    @property
    def methods(self) -> list[str]:
        return self.run.methods

    def label(self, method: str) -> str:
        """A row's label (a group of identical methods: every member's name), else the method's own label."""
        from xaireport.methods.registry import label

        return self.run.labels.get(method) or label(method)

    def member_labels(self, group: list[str]) -> list[str]:
        """Each method's own label (not its row's)."""
        from xaireport.methods.registry import label

        return [label(m) for m in group]


def prepare(session: Session) -> Chapter:
    from xaireport.core.fileio import save_csv

    s = session.settings
    r = evaluation.run(session)
    ranks = rankings(r)
    summaries = [summary(r, part) for part in SUMMARY_PARTS]
    rk = rank_table(r, ranks)
    csv = save_csv(r.table, session.results_dir("evaluation") / "evaluation.csv", float_format="%.6f")
    fig_dir = session.figures_dir("evaluation")
    fig = criteria_figure(rk, summary(r), fig_dir / "criteria.png")
    first = session.images()[0]
    maps = {m: explain(session, first, session.method(m)).map for m in r.methods}
    gallery = gallery_figure(
        session.classifier().crop(first.array), maps, r.labels, s.display.outlier_percent, fig_dir / "gallery.png"
    )
    return Chapter(r, summaries, ranks, rk, ranking_table(r, ranks), fig, gallery, csv, conclude(r, ranks))
