"""Chapter 4 (``chapters/gradcam-vs-lime.qmd``): Grad-CAM vs LIME, and every CAM of chapter 2 against every other
explanation, on the cached results of chapters 2 and 3 (same settings → no recomputation) — :func:`prepare`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xaireport.methods import agreement
from xaireport.methods.decision import Decision, decide
from xaireport.methods.registry import label
from xaireport.report import cam_methods, lime
from xaireport.report.figures import cached_figure, image_grid, save_figure


@dataclass
class Pair:
    """One image's Grad-CAM map and LIME explanation (plus the other CAMs for the agreement matrix)."""

    name: str
    class_name: str
    crop: np.ndarray
    cams: dict[str, np.ndarray]
    lime_mask: np.ndarray
    lime_heatmap: np.ndarray

    @property
    def gradcam(self) -> np.ndarray:
        return self.cams["gradcam"]


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


#: Display names of :func:`agreement.iou_row`'s columns in the chapter's table.
IOU_COLUMNS = {
    "cam_area": "Grad-CAM area",
    "lime_area": "LIME area",
    "iou_threshold": "IoU at threshold",
    "chance_threshold": "chance at threshold",
    "placement_chance_threshold": "placement chance at threshold",
    "iou_area_matched": "area-matched IoU",
    "chance_area_matched": "chance level",
    "placement_chance_area_matched": "placement chance level",
}


def iou_table(pairs: list[Pair], threshold: float, seed: int = 0) -> pd.DataFrame:
    """Per image: :func:`agreement.iou_row` (areas; IoU at ``threshold`` and area-matched IoU, each with its
    pixel-random and random-placement chance level), under the chapter's column names."""
    rows = [
        {"image": p.name, "predicted class": p.class_name, **agreement.iou_row(p.gradcam, p.lime_mask, threshold, seed)}
        for p in pairs
    ]
    return pd.DataFrame(rows).rename(columns=IOU_COLUMNS)


def with_summary(df: pd.DataFrame) -> pd.DataFrame:
    """The table formatted to 3 decimals with a last 'mean ± std' row."""
    num = df.select_dtypes("number")
    shown = df.copy()
    for c in num:
        shown[c] = shown[c].map(lambda v: f"{v:.3f}")
    summary = {"image": "mean ± std", "predicted class": ""}
    summary.update({c: f"{num[c].mean():.3f} ± {(num[c].std(ddof=1) if len(num) > 1 else 0.0):.3f}" for c in num})
    return pd.concat([shown, pd.DataFrame([summary])], ignore_index=True)


def curve_table(pairs: list[Pair], fractions: list[float], seed: int = 0) -> pd.DataFrame:
    """Per area fraction f, over images: mean and std of the IoU of Grad-CAM's and LIME's top-f pixels, both
    chance levels of the masks compared, and the share of images where a map had fewer positive pixels than f
    asks for (its mask then holds only those: zero-weight pixels are never taken as evidence)."""
    points = [agreement.iou_curve(p.gradcam, p.lime_heatmap, fractions, seed=seed) for p in pairs]
    col = lambda attr: np.array([[getattr(pt, attr) for pt in row] for row in points], dtype=float)  # noqa: E731
    ious = col("iou")
    return pd.DataFrame(
        {
            "area fraction": fractions,
            "mean IoU": np.nanmean(ious, axis=0),
            "std": np.nanstd(ious, axis=0),
            "chance": np.nanmean(col("chance"), axis=0),
            "placement chance": np.nanmean(col("placement_chance"), axis=0),
            "capped images": col("capped").mean(axis=0),
        }
    )


def agreement_tables(pairs: list[Pair]) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Mean area-matched IoU (every map binarised to the image's LIME area) and mean Spearman correlation, and the
    per-image IoU matrices (images × methods × methods; LIME last)."""
    names = list(pairs[0].cams) + ["lime"]
    ious, rhos = [], []
    for p in pairs:
        maps = {**p.cams, "lime": p.lime_heatmap}
        i, r = agreement.agreement({k: maps[k] for k in names}, area=float(p.lime_mask.mean()))
        ious.append(i)
        rhos.append(r)
    labels = [label(n) for n in names]
    return (
        pd.DataFrame(np.nanmean(ious, axis=0), index=labels, columns=labels),
        pd.DataFrame(np.nanmean(rhos, axis=0), index=labels, columns=labels),
        np.array(ious),
    )


def family_gap(per_image_ious: np.ndarray) -> np.ndarray:
    """Per image: the mean IoU between two CAMs minus the mean IoU between a CAM and LIME (LIME is the last row);
    empty with fewer than two CAMs."""
    k = per_image_ious.shape[1] - 1
    if k < 2:
        return np.array([])
    off = ~np.eye(k, dtype=bool)
    return np.array([m[:k, :k][off].mean() - m[k, :k].mean() for m in per_image_ious])


@cached_figure
def overlap_figure(pairs: list[Pair], threshold: float, path: Path, per_row: int = 5) -> Path:
    """Per image: Grad-CAM-only pixels red, LIME-only blue, both yellow; the IoU in each panel's title."""
    panels, titles = [], []
    for p in pairs:
        cam_mask = agreement.binarize(p.gradcam, threshold=threshold)
        panels.append(agreement.overlap_image(p.crop, cam_mask, p.lime_mask))
        titles.append(f"{Path(p.name).stem}: IoU {agreement.iou(cam_mask, p.lime_mask):.2f}")
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
class Chapter:
    """Chapter 4's tables, figures and headline numbers (every "× chance" uses the stricter chance level)."""

    pairs: list[Pair]
    ious: pd.DataFrame
    curve: pd.DataFrame
    agree_iou: pd.DataFrame
    agree_rho: pd.DataFrame
    overlap_png: Path
    curve_png: Path
    matrix_png: Path
    mean_iou_threshold: float
    mean_iou_area: float
    mean_pixel_chance: float
    mean_placement_chance: float
    mean_strict_chance: float
    above_chance: int
    ratio: float
    capped_fractions: list[float]
    best: pd.Series
    worst: pd.Series
    lift: pd.Series
    cam_cam: float
    cam_lime: float
    cams_closer: Decision | None  # is the CAM-CAM IoU above the CAM-LIME IoU, per image? (None: one CAM)

    @property
    def cam_count(self) -> int:
        return len(self.agree_iou) - 1


def prepare(report) -> Chapter:
    """Pair the cached results of chapters 2 and 3, compute the tables, save them as CSV and draw the figures."""
    from xaireport.core.fileio import save_csv

    s = report.settings
    threshold, seed = s.comparison.gradcam_threshold, s.seed
    pairs = run(report)
    fig_dir, res_dir = report.figures_dir("comparison"), report.results_dir("comparison")
    ious = iou_table(pairs, threshold, seed=seed)
    curve = curve_table(pairs, s.comparison.area_fractions, seed=seed)
    agree_iou, agree_rho, per_image = agreement_tables(pairs)
    gap = family_gap(per_image)
    save_csv(ious, res_dir / "iou.csv")
    save_csv(curve, res_dir / "iou_curve.csv")
    save_csv(agree_iou, res_dir / "agreement_iou.csv", index=True)
    save_csv(agree_rho, res_dir / "agreement_spearman.csv", index=True)
    strict = np.maximum(ious["chance level"], ious["placement chance level"])  # the stricter level, per image
    m_area, m_chance = float(ious["area-matched IoU"].mean()), float(strict.mean())
    cams_only = agree_iou.drop(index="LIME", columns="LIME")
    off_diagonal = cams_only.values[~np.eye(len(cams_only), dtype=bool)]
    return Chapter(
        pairs,
        ious,
        curve,
        agree_iou,
        agree_rho,
        overlap_figure(pairs, threshold, fig_dir / "overlap.png"),
        curve_figure(curve, fig_dir / "iou_curve.png"),
        matrix_figure(agree_iou, agree_rho, fig_dir / "agreement.png"),
        mean_iou_threshold=float(ious["IoU at threshold"].mean()),
        mean_iou_area=m_area,
        mean_pixel_chance=float(ious["chance level"].mean()),
        mean_placement_chance=float(ious["placement chance level"].mean()),
        mean_strict_chance=m_chance,
        above_chance=int((ious["area-matched IoU"] > strict).sum()),
        ratio=m_area / m_chance if m_chance > 0 else float("nan"),
        capped_fractions=[float(f) for f in curve.loc[curve["capped images"] > 0, "area fraction"]],
        best=ious.loc[ious["area-matched IoU"].idxmax()],
        worst=ious.loc[ious["area-matched IoU"].idxmin()],
        lift=curve["mean IoU"] - np.maximum(curve["chance"], curve["placement chance"]),
        cam_cam=float(off_diagonal.mean()) if len(cams_only) > 1 else float("nan"),
        cam_lime=float(agree_iou.loc["LIME"].drop("LIME").mean()),
        cams_closer=decide(gap, 0.0) if len(gap) else None,
    )
