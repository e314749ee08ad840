"""Chapter 5 (``chapters/sanity-checks.qmd``): the model-parameter randomization run and its verdicts
(:mod:`xaireport.results.sanity`) as tables and figures. No computation of what the page claims: the verdicts,
the null and the design's power are computed in :mod:`xaireport.results.sanity`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from xaireport.methods.registry import label as method_label
from xaireport.methods.sanity import CONTROLS, edge_map, unit_range
from xaireport.report.figures import cached_figure, image_grid, save_figure
from xaireport.results.sanity import (
    CONFIDENCE,
    EFFECT,
    EdgeBaseline,
    SanityRun,
    Verdict,
    edge_baseline,
    is_control,
    seed_means,
    verdicts,
)
from xaireport.results.sanity import run as run_checks

if TYPE_CHECKING:
    from xaireport.session import Session
    from xaireport.settings import SanitySettings

MEASURES = {
    "spearman": "Spearman ρ",
    "spearman_abs": "Spearman ρ of |map|",
    "ssim": "SSIM (paper-style)",
    "hog": "HOG similarity (Spearman)",
}
#: Not a similarity to the trained map: the rank correlation of each map's |values| with the Sobel edges of the image.
EDGES = "Spearman ρ of |map| with Sobel edges"


def label(name: str) -> str:
    """A method's label, or a control's (``Sobel edges (control)``)."""
    if is_control(name):
        return CONTROLS[name.split(":", 1)[1]].split(" (")[0] + " (control)"
    return method_label(name)


def run(session: Session) -> SanityRun:
    """Chapter 5 with the session's settings (:func:`xaireport.results.sanity.run`)."""
    return run_checks(session)


# --- Tables and figures ----------------------------------------------------------------------------------------


def cascade_rows(run: SanityRun) -> pd.DataFrame:
    """The rows every cascade step has: the images run through the whole cascade (``sanity.cascade_images``) with
    the first seed, methods only (no controls)."""
    c = run.cascade
    shown = c[(c["step"] != 0) & (c["seed"] == run.seeds[0])]
    images = shown.groupby("image")["step"].nunique()
    full = images[images == len(run.order)].index
    return c[c["image"].isin(full) & (c["seed"] == run.seeds[0]) & ~c["control"].astype(bool)]


def curves(run: SanityRun) -> pd.DataFrame:
    """Mean and std over the cascade images of every measure, per method and cascade step."""
    g = cascade_rows(run).groupby(["method", "step", "randomized"], sort=False)
    out = g[[*MEASURES, "edges", "jaccard"]].agg(["mean", "std"])
    out.columns = [f"{a} {b}" for a, b in out.columns]
    return out.reset_index()


def verdict_table(vs: list[Verdict]) -> pd.DataFrame:
    """One row per method and control: the mean ρ of the randomized maps with their own trained map, the null, the
    difference with its interval, the verdict, and the smallest residual ρ the design decides with 80% power."""
    return pd.DataFrame(
        {
            "method": [label(v.method) for v in vs],
            "ρ with own trained map": [v.matched for v in vs],
            "reference ρ": [v.reference for v in vs],
            "reference": ["null (other images)" if v.reference_kind == "other-images" else "fixed" for v in vs],
            "difference (z)": [v.decision.mean for v in vs],
            f"{CONFIDENCE:.0%} CI": [
                f"{v.decision.low:.2f} to {v.decision.high:.2f}" if v.decision.images > 1 else "—" for v in vs
            ],
            "verdict": [v.outcome if v.outcome != "undecided" else v.decision.not_decided() for v in vs],
            "detectable ρ (80%)": [v.detectable for v in vs],
            "constant maps": [f"{v.constant} of {v.maps}" for v in vs],
        }
    )


def secondary_table(vs: list[Verdict]) -> pd.DataFrame:
    """The same design on the paper's other two measures (SSIM: raw difference; HOG: Fisher z), shown beside the
    verdicts (which Spearman ρ decides)."""
    return pd.DataFrame(
        {
            "method": [label(v.method) for v in vs],
            "SSIM − null": [v.ssim.describe() for v in vs],
            "SSIM outcome": [_word(v.ssim.outcome) or v.ssim.not_decided() for v in vs],
            "HOG − null (z)": [v.hog.describe() for v in vs],
            "HOG outcome": [_word(v.hog.outcome) or v.hog.not_decided() for v in vs],
        }
    )


def _word(outcome: str) -> str:
    return {"above": "above the margin", "below": "below the margin"}.get(outcome, "")


def seed_table(run: SanityRun, sanity: SanitySettings) -> pd.DataFrame:
    """The spread over randomization seeds at the verdict step (:func:`~xaireport.results.sanity.seed_means`): per
    method and seed, the mean over the images of the difference between the matched ρ and its reference."""
    t = seed_means(run, sanity)
    t.insert(0, "method", [label(m) for m in t.index])
    return t.reset_index(drop=True)


def independent_table(run: SanityRun) -> pd.DataFrame | None:
    """Mean ρ (Spearman) with the trained map per block randomized alone (rows, output first) and method
    (columns), over the cascade images with the first seed; ``None`` when the run did not randomize blocks alone."""
    ind = run.independent
    if ind.empty:
        return None
    ind = ind[~ind["control"].astype(bool)]
    t = ind.groupby(["randomized", "method"], sort=False)["spearman"].mean().unstack("method")
    t = t.reindex(index=[b.name for b in run.order], columns=run.explained)
    t.columns = [label(m) for m in t.columns]
    return t.reset_index().rename(columns={"randomized": "block randomized alone"})


def jaccard_table(run: SanityRun) -> pd.DataFrame:
    """Per cascade step (rows) and method with superpixels (columns, LIME): mean over the cascade images of the
    Jaccard index of the top-k superpixel sets, trained vs randomized; a one-row note when no method has
    superpixels."""
    c = cascade_rows(run).dropna(subset=["jaccard"])
    if c.empty:
        return pd.DataFrame({"note": ["no method with superpixels (LIME) among sanity.methods"]})
    t = c.groupby(["step", "randomized", "method"], sort=False, dropna=False)["jaccard"].mean().unstack("method")
    t.columns = [f"{label(m)} top-k Jaccard" for m in t.columns]
    t = t.reset_index()
    t["randomized"] = t["randomized"].fillna("").replace("", "(trained)")
    return t.rename(columns={"randomized": "randomized down to"})


def edge_table(edges: list[EdgeBaseline]) -> pd.DataFrame:
    """:func:`~xaireport.results.sanity.edge_baseline` as a table (one row per method)."""
    return pd.DataFrame(
        {
            "method": [label(e.method) for e in edges],
            "trained model": [e.trained for e in edges],
            "randomized (verdict step)": [e.random for e in edges],
            "randomized − trained (per image)": [e.change.describe() for e in edges],
        }
    )


@cached_figure
def cascade_figure(run: SanityRun, outlier_percent: float, path: Path) -> Path:
    """Adebayo-style: rows = methods, columns = the trained model, then each cascade step (first image, first seed),
    then the image's Sobel edges (the paper's edge-detector baseline). Each map is drawn as
    :func:`~xaireport.report.figures.displayed` scales its method's family (``outlier_percent`` for gradient and
    perturbation maps), in greyscale with one colour bar; the edges are scaled to their own range."""
    from xaireport.methods.display import displayed
    from xaireport.methods.registry import get

    steps = range(len(run.order) + 1)
    methods = [m for m in run.explained if all((m, s) in run.first_maps for s in steps)]
    rows = []
    for m in methods:
        row = [displayed(run.first_maps[m, step], get(m), outlier_percent) for step in steps]
        if run.first_crop is not None:
            row.append(unit_range(edge_map(run.first_crop, row[0].shape)))
        rows.append(row)
    cols = ["trained"] + [b.name for b in run.order] + (["Sobel edges"] if run.first_crop is not None else [])
    fig = image_grid(
        rows, [label(m) for m in methods], cols, cmap="gray", size=1.1, colorbar="relevance (1 = the map's top)"
    )
    return save_figure(fig, path)


@cached_figure
def curve_figure(run: SanityRun, path: Path) -> Path:
    """One panel per measure (similarity to the trained map; the last: to the image's Sobel edges): mean ± std over
    the cascade images against the cascade step, all methods on each."""
    import matplotlib.pyplot as plt

    c = curves(run)
    names = ["trained"] + [b.name for b in run.order]
    panels = {**MEASURES, "edges": EDGES}
    cols = 2
    rows = -(-len(panels) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), sharey=True, squeeze=False)
    axes = grid.ravel()
    for ax, (key, title) in zip(axes, panels.items()):
        for m in run.explained:
            r = c[c["method"] == m].sort_values("step")
            ax.plot(r["step"], r[f"{key} mean"], marker="o", ms=3, label=label(m))
            ax.fill_between(
                r["step"],
                r[f"{key} mean"] - r[f"{key} std"].fillna(0),
                r[f"{key} mean"] + r[f"{key} std"].fillna(0),
                alpha=0.15,
            )
        ax.axvline(run.verdict_step, color="black", lw=0.8, ls="--")
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


@cached_figure
def null_figure(vs: list[Verdict], path: Path) -> Path:
    """Per method and control (rows): the per-image difference between the matched ρ and its null (Fisher z, seeds
    averaged), as dots, with the mean, its interval and the margin; left of the margin passes, right fails."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 0.42 * len(vs) + 1.2))
    for i, v in enumerate(vs):
        d = v.decision
        colour = {"passes": "tab:green", "fails": "tab:red"}.get(v.outcome, "tab:grey")
        if d.images > 1:
            ax.plot([d.low, d.high], [i, i], color=colour, lw=3, alpha=0.7)
        ax.plot([d.mean], [i], "o", color=colour, ms=6)
    margin = vs[0].margin if vs else 0.0
    ax.axvline(margin, color="black", ls="--", lw=1)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_yticks(range(len(vs)), [label(v.method) for v in vs], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"ρ with own trained map − null ρ (Fisher z); dashed: the margin {margin:g}", fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return save_figure(fig, path)


def save_all(run: SanityRun, results_dir: Path) -> dict[str, Path]:
    """``cascade.csv`` (every cascade row; columns: :data:`~xaireport.results.sanity.COLUMNS`) and, when blocks were
    randomized alone, ``independent.csv``."""
    from xaireport.core.fileio import save_csv

    out = {"cascade": save_csv(run.cascade, results_dir / "cascade.csv", float_format="%.6f")}
    if not run.independent.empty:
        out["independent"] = save_csv(run.independent, results_dir / "independent.csv", float_format="%.6f")
    return out


# --- The chapter's page: what the .qmd shows --------------------------------------------------------------


@dataclass
class Chapter:
    """Chapter 5's run, tables, figures and verdicts."""

    run: SanityRun
    csvs: dict[str, Path]
    cascade_png: Path
    curves_png: Path
    null_png: Path
    verdicts: list[Verdict]  # methods, then controls
    independent: pd.DataFrame | None
    jaccard: pd.DataFrame  # :func:`jaccard_table` (a one-row note without LIME)
    seeds: pd.DataFrame  # :func:`seed_table`
    edges: list[EdgeBaseline]
    effect: float  # :data:`~xaireport.results.sanity.EFFECT`

    @property
    def seed_count(self) -> int:
        return len(self.run.seeds)

    @property
    def images(self) -> int:
        return len(self.run.images)

    @property
    def cascade_images(self) -> int:
        return int(cascade_rows(self.run)["image"].nunique())

    @property
    def methods(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.control]

    @property
    def controls(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.control]

    def named(self, outcome: str) -> list[str]:
        return [label(v.method) for v in self.methods if v.outcome == outcome]

    @property
    def passing(self) -> list[str]:
        return self.named("passes")

    @property
    def failing(self) -> list[str]:
        return self.named("fails")

    @property
    def undecided(self) -> list[str]:
        return self.named("undecided")

    @property
    def controls_as_expected(self) -> bool:
        """The edges control fails and the noise control passes (the design can tell the two known answers)."""
        want = {"control:edges": "fails", "control:noise": "passes"}
        return all(want.get(v.method) == v.outcome for v in self.controls) and len(self.controls) == len(want)


def prepare(session: Session) -> Chapter:
    """The randomization run (cached), its CSVs, figures, verdicts and tables."""
    s = session.settings
    r = run(session)
    fig_dir, res_dir = session.figures_dir("sanity"), session.results_dir("sanity")
    vs = verdicts(r, s.sanity)
    return Chapter(
        r,
        save_all(r, res_dir),
        cascade_figure(r, s.display.outlier_percent, fig_dir / "cascade.png"),
        curve_figure(r, fig_dir / "curves.png"),
        null_figure(vs, fig_dir / "null.png"),
        vs,
        independent_table(r),
        jaccard_table(r),
        seed_table(r, s.sanity),
        [e for e in edge_baseline(r) if not is_control(e.method)],
        EFFECT,
    )
