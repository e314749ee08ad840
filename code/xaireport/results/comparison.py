"""Chapter 4's numbers (``xaireport.report.gradcam_vs_lime``): how far Grad-CAM and LIME agree on each image, and
every CAM of chapter 2 against every other explanation — IoU at a threshold and area-matched, each against its two
chance levels (:mod:`xaireport.methods.agreement`), the IoU curve over area fractions, the agreement matrices, and
the headline numbers the page words (:func:`compare`). Plain arrays in, tables and numbers out: the maps come from
the cached explanations of chapters 2 and 3, so nothing here is cached."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xaireport.methods import agreement
from xaireport.methods.decision import Decision, decide
from xaireport.methods.registry import label


@dataclass
class Pair:
    """One image's CAM maps (Grad-CAM's first: ``cams`` is ordered) and its LIME explanation."""

    name: str
    class_name: str
    crop: np.ndarray
    cams: dict[str, np.ndarray]
    lime_mask: np.ndarray
    lime_heatmap: np.ndarray

    @property
    def gradcam(self) -> np.ndarray:
        return self.cams["gradcam"]


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


def threshold_masks(pairs: list[Pair], threshold: float) -> list[tuple[np.ndarray, float]]:
    """Per image: Grad-CAM's map binarised at ``threshold`` and its IoU with the LIME mask (chapter 4's overlap
    figure)."""
    out = []
    for p in pairs:
        mask = agreement.binarize(p.gradcam, threshold=threshold)
        out.append((mask, agreement.iou(mask, p.lime_mask)))
    return out


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


@dataclass
class Comparison:
    """Chapter 4's tables and headline numbers (every "× chance" uses the stricter of the two chance levels)."""

    ious: pd.DataFrame  # :func:`iou_table`
    curve: pd.DataFrame  # :func:`curve_table`
    agree_iou: pd.DataFrame  # :func:`agreement_tables`, indexed by method label
    agree_rho: pd.DataFrame
    mean_iou_threshold: float
    mean_iou_area: float
    mean_pixel_chance: float
    mean_placement_chance: float
    mean_strict_chance: float
    above_chance: int  # images whose area-matched IoU beats their stricter chance level
    ratio: float  # mean area-matched IoU / mean stricter chance level
    capped_fractions: list[float]
    best: pd.Series  # the iou table's row of the image with the highest area-matched IoU
    worst: pd.Series
    lift: pd.Series  # per area fraction: mean IoU minus the stricter chance level
    cam_cam: float  # mean area-matched IoU between two CAMs (nan with one CAM)
    cam_lime: float  # ... between a CAM and LIME
    cams_closer: Decision | None  # is the CAM-CAM IoU above the CAM-LIME IoU, per image? (None: one CAM)


def compare(pairs: list[Pair], threshold: float, fractions: list[float], seed: int = 0) -> Comparison:
    """Every table and number of chapter 4 for ``pairs``."""
    ious = iou_table(pairs, threshold, seed=seed)
    curve = curve_table(pairs, fractions, seed=seed)
    agree_iou, agree_rho, per_image = agreement_tables(pairs)
    gap = family_gap(per_image)
    strict = np.maximum(ious["chance level"], ious["placement chance level"])  # the stricter level, per image
    m_area, m_chance = float(ious["area-matched IoU"].mean()), float(strict.mean())
    cams_only = agree_iou.drop(index="LIME", columns="LIME")
    off_diagonal = cams_only.values[~np.eye(len(cams_only), dtype=bool)]
    return Comparison(
        ious,
        curve,
        agree_iou,
        agree_rho,
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
