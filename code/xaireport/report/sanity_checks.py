"""Chapter 5 (``chapters/sanity-checks.qmd``): the model-parameter randomization run
(:mod:`xaireport.results.sanity`) as tables, figures and verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from xaireport.methods.decision import ABOVE, BELOW, Decision, decide
from xaireport.methods.registry import label
from xaireport.methods.sanity import edge_map, unit_range
from xaireport.report.figures import cached_figure, image_grid, save_figure
from xaireport.results.sanity import SanityRun
from xaireport.results.sanity import run as run_checks

if TYPE_CHECKING:
    from xaireport.session import Session

MEASURES = {
    "spearman": "Spearman ρ",
    "spearman_abs": "Spearman ρ of |map|",
    "ssim": "SSIM (paper-style)",
    "hog": "HOG similarity (Spearman)",
}
#: Not a similarity to the trained map: the rank correlation of each map's |values| with the Sobel edges of the image.
EDGES = "Spearman ρ of |map| with Sobel edges"


def run(session: Session) -> SanityRun:
    """Chapter 5 with the session's settings (:func:`xaireport.results.sanity.run`)."""
    return run_checks(session)


# --- Tables, figures and verdicts ------------------------------------------------------------------------------


def curves(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over images and seeds of every measure, per method and cascade step."""
    g = table.groupby(["method", "step", "randomized"], sort=False)
    out = g[[*MEASURES, "edges", "jaccard"]].agg(["mean", "std"])
    out.columns = [f"{a} {b}" for a, b in out.columns]
    return out.reset_index()


@dataclass
class Verdict:
    """One method's verdict, decided with :func:`xaireport.methods.decision.decide` on the per-image |ρ| (Spearman of
    the absolute maps) at each of the first ``within`` cascade steps."""

    method: str
    outcome: str  # "passes", "fails" or "undecided"
    step: int  # the step the sentence quotes: the first decided below (passes), else the last step checked
    block: str
    decision: Decision
    constant: int  # constant maps (no rank correlation) among the steps checked
    final: float  # mean |ρ| with every block random

    @property
    def passes(self) -> bool:
        return self.outcome == "passes"


def per_image_seed(rows: pd.DataFrame) -> np.ndarray:
    """|ρ| (``spearman_abs``) of one method and step as an images × seeds array (NaN: a constant map)."""
    return rows.pivot_table(index="image", columns="seed", values="spearman_abs", dropna=False).abs().to_numpy()


def verdicts(run: SanityRun, threshold: float, within: int) -> list[Verdict]:
    """Per method: it *passes* when, at one of the first ``within`` cascade steps, the mean over images of |ρ| is
    decided below ``threshold`` (the confidence interval of :func:`~xaireport.methods.decision.decide` lies below
    it, and so does every randomization seed's mean); it *fails* when at every one of those steps it is decided
    above; otherwise it is not decided."""
    out = []
    c = run.cascade
    for m in run.methods:
        rows = c[(c["method"] == m) & (c["step"] > 0)]
        steps = sorted(rows["step"].unique())
        checked = [st for st in steps if st <= within]
        decisions = {st: decide(per_image_seed(rows[rows["step"] == st]), threshold) for st in checked}
        below = [st for st in checked if decisions[st].outcome == BELOW]
        if below:
            outcome, step = "passes", below[0]
        elif checked and all(decisions[st].outcome == ABOVE for st in checked):
            outcome, step = "fails", checked[-1]
        else:
            outcome, step = "undecided", checked[-1] if checked else 0
        block = str(rows[rows["step"] == step]["randomized"].iloc[0]) if step else ""
        constant = int(rows[rows["step"].isin(checked)]["spearman_abs"].isna().sum())
        last = rows[rows["step"] == steps[-1]]["spearman_abs"].abs() if steps else pd.Series(dtype=float)
        decision = decisions[step] if step in decisions else decide([], threshold)
        out.append(Verdict(m, outcome, step, block, decision, constant, float(last.mean())))
    return out


def independent_table(run: SanityRun) -> pd.DataFrame:
    """Mean |ρ| (Spearman of the absolute maps, its magnitude) over images per block (rows, output first) and method
    (columns); constant maps (NaN) are left out."""
    ind = run.independent.assign(spearman_abs=run.independent["spearman_abs"].abs())
    t = ind.groupby(["randomized", "method"], sort=False)["spearman_abs"].mean().unstack("method")
    t = t.reindex(index=[b.name for b in run.order], columns=run.methods)
    t.columns = [label(m) for m in t.columns]
    return t.reset_index().rename(columns={"randomized": "block randomized alone"})


def jaccard_table(run: SanityRun) -> pd.DataFrame:
    """Per cascade step (rows) and method with superpixels (columns, LIME): mean over images of the Jaccard index
    of the top-k superpixel sets, trained vs randomized; a one-row note when no method has superpixels."""
    c = run.cascade.dropna(subset=["jaccard"])
    if c.empty:
        return pd.DataFrame({"note": ["no method with superpixels (LIME) among sanity.methods"]})
    t = c.groupby(["step", "randomized", "method"], sort=False, dropna=False)["jaccard"].mean().unstack("method")
    t.columns = [f"{label(m)} top-k Jaccard" for m in t.columns]
    t = t.reset_index()
    t["randomized"] = t["randomized"].fillna("").replace("", "(trained)")
    return t.rename(columns={"randomized": "randomized down to"})


def seed_table(run: SanityRun, within: int) -> pd.DataFrame:
    """The spread over randomization seeds: mean |ρ| over images per method and seed (columns) at each of the first
    ``within`` cascade steps (rows) — the numbers the verdicts are decided on."""
    c = run.cascade[(run.cascade["step"] > 0) & (run.cascade["step"] <= within)]
    c = c.assign(spearman_abs=c["spearman_abs"].abs())
    t = c.pivot_table(index=["method", "step", "randomized"], columns="seed", values="spearman_abs", sort=False)
    t.columns = [f"seed {sd}" for sd in t.columns]
    t = t.reset_index()
    t["method"] = t["method"].map(label)
    return t.rename(columns={"randomized": "randomized down to"})


@dataclass(frozen=True)
class EdgeBaseline:
    """The paper's edge-detector comparison for one method: mean over images (and seeds) of the rank correlation of
    the map's |values| with the image's Sobel edges, for the trained model and with every block random, and the
    decision whether the random maps follow the edges more than the trained ones (per-image difference, random −
    trained, against 0)."""

    method: str
    trained: float
    random: float
    change: Decision


def edge_baseline(run: SanityRun) -> list[EdgeBaseline]:
    c = run.cascade
    last = int(c["step"].max()) if len(c) else 0
    out = []
    for m in run.methods:
        rows = c[c["method"] == m]
        trained = rows[rows["step"] == 0].groupby("image")["edges"].mean()
        random = rows[rows["step"] == last].pivot_table(index="image", columns="seed", values="edges", dropna=False)
        diff = random.sub(trained.reindex(random.index), axis=0).to_numpy()
        out.append(EdgeBaseline(m, float(trained.mean()), float(np.nanmean(random.to_numpy())), decide(diff, 0.0)))
    return out


def edge_table(edges: list[EdgeBaseline]) -> pd.DataFrame:
    """:func:`edge_baseline` as a table (one row per method)."""
    return pd.DataFrame(
        {
            "method": [label(e.method) for e in edges],
            "trained model": [e.trained for e in edges],
            "every block random": [e.random for e in edges],
            "random − trained (per image)": [e.change.describe() for e in edges],
        }
    )


@cached_figure
def cascade_figure(run: SanityRun, outlier_percent: float, path: Path) -> Path:
    """Adebayo-style: rows = methods, columns = the trained model, then each cascade step (first image, first seed),
    then the image's Sobel edges (the paper's edge-detector baseline). Each map is drawn as
    :func:`~xaireport.report.figures.displayed` scales its method's family (``outlier_percent`` for gradient and
    perturbation maps), in greyscale with one colour bar; the edges are scaled to their own range."""
    from xaireport.methods.registry import get
    from xaireport.report.figures import displayed

    steps = range(len(run.order) + 1)
    rows = []
    for m in run.methods:
        row = [displayed(run.first_maps[m, step], get(m), outlier_percent) for step in steps]
        if run.first_crop is not None:
            row.append(unit_range(edge_map(run.first_crop, row[0].shape)))
        rows.append(row)
    cols = ["trained"] + [b.name for b in run.order] + (["Sobel edges"] if run.first_crop is not None else [])
    fig = image_grid(
        rows, [label(m) for m in run.methods], cols, cmap="gray", size=1.1, colorbar="relevance (1 = the map's top)"
    )
    return save_figure(fig, path)


@cached_figure
def curve_figure(run: SanityRun, path: Path) -> Path:
    """One panel per measure (similarity to the trained map; the last: to the image's Sobel edges): mean ± std over
    images and seeds against the cascade step, all methods on each."""
    import matplotlib.pyplot as plt

    c = curves(run.cascade)
    names = ["trained"] + [b.name for b in run.order]
    panels = {**MEASURES, "edges": EDGES}
    cols = 2
    rows = -(-len(panels) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), sharey=True, squeeze=False)
    axes = grid.ravel()
    for ax, (key, title) in zip(axes, panels.items()):
        for m in run.methods:
            r = c[c["method"] == m].sort_values("step")
            ax.plot(r["step"], r[f"{key} mean"], marker="o", ms=3, label=label(m))
            ax.fill_between(
                r["step"],
                r[f"{key} mean"] - r[f"{key} std"].fillna(0),
                r[f"{key} mean"] + r[f"{key} std"].fillna(0),
                alpha=0.15,
            )
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_ylim(-1.05, 1.05)
        ax.grid(alpha=0.3)
    for ax in grid[:, 0]:
        ax.set_ylabel("similarity")
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    axes[len(panels) - 1].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def save_all(run: SanityRun, results_dir: Path) -> dict[str, Path]:
    """``cascade.csv`` and ``independent.csv`` (columns: :data:`COLUMNS`)."""
    from xaireport.core.fileio import save_csv

    return {
        "cascade": save_csv(run.cascade, results_dir / "cascade.csv", float_format="%.6f"),
        "independent": save_csv(run.independent, results_dir / "independent.csv", float_format="%.6f"),
    }


# --- The chapter's page: what the .qmd shows --------------------------------------------------------------


@dataclass
class Chapter:
    """Chapter 5's run, tables, figures and verdicts."""

    run: SanityRun
    csvs: dict[str, Path]
    cascade_png: Path
    curves_png: Path
    verdicts: list[Verdict]
    independent: pd.DataFrame
    jaccard: pd.DataFrame  # :func:`jaccard_table` (a one-row note without LIME)
    seeds: pd.DataFrame  # :func:`seed_table`
    edges: list[EdgeBaseline]

    @property
    def seed_count(self) -> int:
        return int(self.run.cascade["seed"].nunique())

    @property
    def images(self) -> int:
        return int(self.run.cascade["image"].nunique())

    @property
    def passing(self) -> list[str]:
        return [label(v.method) for v in self.verdicts if v.passes]

    @property
    def failing(self) -> list[str]:
        return [label(v.method) for v in self.verdicts if v.outcome == "fails"]

    @property
    def undecided(self) -> list[str]:
        return [label(v.method) for v in self.verdicts if v.outcome == "undecided"]


def prepare(session: Session) -> Chapter:
    """The randomization run (cached), its CSVs, figures, verdicts and tables."""
    s = session.settings
    r = run(session)
    fig_dir, res_dir = session.figures_dir("sanity"), session.results_dir("sanity")
    return Chapter(
        r,
        save_all(r, res_dir),
        cascade_figure(r, s.display.outlier_percent, fig_dir / "cascade.png"),
        curve_figure(r, fig_dir / "curves.png"),
        verdicts(r, s.sanity.threshold, s.sanity.within_blocks),
        independent_table(r),
        jaccard_table(r),
        seed_table(r, s.sanity.within_blocks),
        edge_baseline(r),
    )
