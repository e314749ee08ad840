"""Chapter 4 (``chapters/gradcam-vs-lime.qmd``): Grad-CAM vs LIME, and every CAM of chapter 2 against every other
explanation, on the cached results of chapters 2 and 3 (same settings → no recomputation) — :func:`prepare`. The
numbers are computed by :mod:`xaireport.results.comparison`; this module pairs the runs, saves the CSVs and draws."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xaireport.methods import agreement
from xaireport.report import cam_methods, lime
from xaireport.report.figures import cached_figure, image_grid, save_figure
from xaireport.results.comparison import IOU_COLUMNS, Comparison, Pair, compare, family_gap, threshold_masks

__all__ = ["IOU_COLUMNS", "Chapter", "Pair", "family_gap", "pairs_from_runs", "prepare", "run", "with_summary"]


def pairs_from_runs(cam_runs: list[cam_methods.CamRun], lime_runs: list[lime.LimeRun]) -> list[Pair]:
    by_name = {r.image.name: r for r in lime_runs}
    out = []
    for c in cam_runs:
        lr = by_name[c.image.name].result
        if lr.class_index != c.prediction.class_index:
            raise ValueError(f"{c.image.name}: CAM and LIME explain different classes")
        out.append(
            Pair(
                c.image.name,
                c.prediction.class_name,
                c.crop,
                {m: r.map for m, r in c.results.items()},
                lr.mask,
                lr.heatmap,
            )
        )
    return out


def run(report) -> list[Pair]:
    """Reuse (through the cache) exactly the results chapters 2 and 3 computed with the same settings."""
    methods = ["gradcam"] + [m for m in report.settings.cams.methods if m != "gradcam"]
    return pairs_from_runs(cam_methods.run(report, with_faithfulness=False, methods=methods), lime.run(report))


def with_summary(df: pd.DataFrame) -> pd.DataFrame:
    """The table formatted to 3 decimals with a last 'mean ± std' row."""
    num = df.select_dtypes("number")
    shown = df.copy()
    for c in num:
        shown[c] = shown[c].map(lambda v: f"{v:.3f}")
    summary = {"image": "mean ± std", "predicted class": ""}
    summary.update({c: f"{num[c].mean():.3f} ± {(num[c].std(ddof=1) if len(num) > 1 else 0.0):.3f}" for c in num})
    return pd.concat([shown, pd.DataFrame([summary])], ignore_index=True)


@cached_figure
def overlap_figure(pairs: list[Pair], masks: list[tuple[np.ndarray, float]], path: Path, per_row: int = 5) -> Path:
    """Per image: Grad-CAM-only pixels red, LIME-only blue, both yellow; the IoU in each panel's title (``masks``:
    :func:`~xaireport.results.comparison.threshold_masks`)."""
    panels, titles = [], []
    for p, (cam_mask, iou) in zip(pairs, masks):
        panels.append(agreement.overlap_image(p.crop, cam_mask, p.lime_mask))
        titles.append(f"{Path(p.name).stem}: IoU {iou:.2f}")
    per_row = min(per_row, len(panels))
    pad = (-len(panels)) % per_row
    panels += [np.full_like(panels[0], 255)] * pad
    titles += [""] * pad
    rows = [panels[i : i + per_row] for i in range(0, len(panels), per_row)]
    trows = [titles[i : i + per_row] for i in range(0, len(titles), per_row)]
    fig = image_grid(rows, [""] * len(rows), [""] * per_row, cell_titles=trows, titles_only=True)
    return save_figure(fig, path)


@cached_figure
def curve_figure(curve: pd.DataFrame, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    x = curve["area fraction"] * 100
    ax.plot(x, curve["mean IoU"], marker="o", label="Grad-CAM vs LIME (mean over images)")
    ax.fill_between(
        x, curve["mean IoU"] - curve["std"], curve["mean IoU"] + curve["std"], alpha=0.2, label="± 1 std across images"
    )
    ax.plot(x, curve["chance"], ls="--", color="grey", label="chance: pixel-random masks")
    ax.plot(x, curve["placement chance"], ls=":", color="black", label="chance: same masks, random position")
    ax.set_xlabel("top area of each map (% of pixels)")
    ax.set_ylabel("IoU")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


@cached_figure
def matrix_figure(iou_m: pd.DataFrame, rho_m: pd.DataFrame, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, m, title in ((axes[0], iou_m, "mean area-matched IoU"), (axes[1], rho_m, "mean Spearman ρ")):
        im = ax.imshow(m.values, vmin=0 if "IoU" in title else -1, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(m)), m.columns, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(m)), m.index, fontsize=8)
        for i in range(len(m)):
            for j in range(len(m)):
                v = m.values[i, j]
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8, color="black" if v > 0.6 else "white")
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return save_figure(fig, path)


# --- The chapter's page: what the .qmd shows --------------------------------------------------------------


@dataclass
class Chapter(Comparison):
    """Chapter 4's tables, figures and headline numbers (:class:`~xaireport.results.comparison.Comparison`), with
    the pairs they were computed on."""

    pairs: list[Pair]
    overlap_png: Path
    curve_png: Path
    matrix_png: Path

    @property
    def cam_count(self) -> int:
        return len(self.agree_iou) - 1


def prepare(report) -> Chapter:
    """Pair the cached results of chapters 2 and 3, compute the tables (:func:`~xaireport.results.comparison.
    compare`), save them as CSV and draw the figures."""
    from xaireport.core.fileio import save_csv

    s = report.settings
    threshold, seed = s.comparison.gradcam_threshold, s.seed
    pairs = run(report)
    fig_dir, res_dir = report.figures_dir("comparison"), report.results_dir("comparison")
    c = compare(pairs, threshold, s.comparison.area_fractions, seed=seed)
    save_csv(c.ious, res_dir / "iou.csv")
    save_csv(c.curve, res_dir / "iou_curve.csv")
    save_csv(c.agree_iou, res_dir / "agreement_iou.csv", index=True)
    save_csv(c.agree_rho, res_dir / "agreement_spearman.csv", index=True)
    return Chapter(
        **{f: getattr(c, f) for f in Comparison.__dataclass_fields__},
        pairs=pairs,
        overlap_png=overlap_figure(pairs, threshold_masks(pairs, threshold), fig_dir / "overlap.png"),
        curve_png=curve_figure(c.curve, fig_dir / "iou_curve.png"),
        matrix_png=matrix_figure(c.agree_iou, c.agree_rho, fig_dir / "agreement.png"),
    )
