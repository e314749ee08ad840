"""Chapter 3 (``chapters/lime.qmd``): LIME per image and the seed-stability study (explanations through
:mod:`xaireport.results.explanations`), as tables and figures. The per-image files are written by
:mod:`xaireport.outputs`, shared with ``xaireport lime``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from skimage.segmentation import mark_boundaries

from xaireport.core import progress
from xaireport.core.fileio import save_csv
from xaireport.images import LoadedImage
from xaireport.methods.explanations import LimeResult
from xaireport.outputs import boundaries, hide_rest, write_lime_outputs
from xaireport.report.figures import cached_figure, image_grid, save_figure
from xaireport.results.explanations import explain
from xaireport.results.stability import stability

if TYPE_CHECKING:
    from xaireport.session import Session


@dataclass
class LimeRun:
    image: LoadedImage
    result: LimeResult  # the explanation with the report's seed
    by_seed: list[LimeResult]  # the stability study (first = the report's seed)


def run(session: Session) -> list[LimeRun]:
    """Chapter 3: LIME with ``stability_seeds`` seeds (seed, seed+1, …) on every image (cached)."""
    s = session.settings
    clf, lime = session.classifier(), session.method("lime")
    seeds = [s.seed + i for i in range(max(1, s.lime.stability_seeds))]
    runs = []
    for image in progress.bar(session.images(), desc="LIME", unit="image"):
        crop = clf.crop(image.array)
        results = [LimeResult.of(explain(session, image, lime, seed=sd), crop) for sd in seeds]
        runs.append(LimeRun(image, results[0], results))
    return runs


def stability_table(runs: list[LimeRun]) -> pd.DataFrame:
    """Per image: the agreement of its explanations across seeds (:func:`xaireport.results.stability.stability`)."""
    return pd.DataFrame([{"image": r.image.name, **stability(r.by_seed)} for r in runs])


def explanation_table(runs: list[LimeRun]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "image": r.image.name,
                "class_name": r.result.class_name,
                "probability": r.result.score,
                "superpixels": len(r.result.weights),
                "top-k area": float(r.result.mask.mean()),
                "R²": r.result.r2,
                "seconds": r.result.seconds,
            }
            for r in runs
        ]
    )


def pos_neg(result: LimeResult, k: int) -> np.ndarray:
    """The crop tinted green on the k most positive and red on the k most negative superpixels."""
    w = result.weights
    pos = [i for i in np.argsort(-w)[:k] if w[i] > 0]
    neg = [i for i in np.argsort(w)[:k] if w[i] < 0]
    out = result.image.astype(np.float32)
    for ids, colour in ((pos, (0, 200, 0)), (neg, (220, 0, 0))):
        m = np.isin(result.segments, ids)
        out[m] = 0.45 * out[m] + 0.55 * np.array(colour, np.float32)
    edges = mark_boundaries(out / 255.0, result.segments, color=(1, 1, 1), mode="inner")
    return (edges * 255).astype(np.uint8)


@cached_figure
def explanation_figure(runs: list[LimeRun], k: int, path: Path) -> Path:
    rows = [[r.result.image, boundaries(r.result), hide_rest(r.result), pos_neg(r.result, k)] for r in runs]
    titles = [[f"{r.result.class_name} ({r.result.score:.2f})", "", "", ""] for r in runs]
    fig = image_grid(
        rows,
        [r.image.stem for r in runs],
        ["input", f"top {k} superpixels", "hide rest", "+ green / − red"],
        cell_titles=titles,
    )
    return save_figure(fig, path)


@cached_figure
def seeds_figure(runs: list[LimeRun], path: Path) -> Path:
    rows = [[boundaries(x) for x in r.by_seed] for r in runs]
    seeds = [f"seed {i}" for i in range(len(runs[0].by_seed))]
    return save_figure(image_grid(rows, [r.image.stem for r in runs], seeds), path)


def save_all(runs: list[LimeRun], figures_dir: Path, results_dir: Path) -> None:
    for r in runs:
        write_lime_outputs(figures_dir, r.image.stem, r.result)
    save_csv(stability_table(runs), results_dir / "stability.csv")
    save_csv(explanation_table(runs), results_dir / "explanations.csv")


def setup_table(report) -> pd.DataFrame:
    """The chapter's LIME settings and the fixed choices of the lime package's tutorial."""
    fixed = pd.DataFrame(
        [
            *report.method("lime").notes.items(),
            ("seed", str(report.settings.seed)),
            ("classifier", report.classifier().name),
        ],
        columns=["setting", "value"],
    )
    return pd.concat([report.settings_table("lime"), fixed], ignore_index=True)


# --- The chapter's page: what the .qmd shows --------------------------------------------------------------


@dataclass
class Chapter:
    """Chapter 3's runs, tables and figures."""

    runs: list[LimeRun]
    figures_dir: Path
    results_dir: Path
    explanation_png: Path
    seeds_png: Path
    table: pd.DataFrame
    stability: pd.DataFrame

    @property
    def seeds(self) -> int:
        return int(self.stability["seeds"].iloc[0])

    @property
    def least_stable(self) -> pd.Series:
        return self.stability.loc[self.stability["mean Jaccard"].idxmin()]

    @property
    def most_stable(self) -> pd.Series:
        return self.stability.loc[self.stability["mean Jaccard"].idxmax()]


def prepare(session: Session) -> Chapter:
    """LIME of every image with every stability seed (cached), the per-image files, CSVs, tables and figures."""
    runs = run(session)
    fig_dir, res_dir = session.figures_dir("lime"), session.results_dir("lime")
    save_all(runs, fig_dir, res_dir)
    k = session.settings.lime.num_features
    return Chapter(
        runs,
        fig_dir,
        res_dir,
        explanation_figure(runs, k, fig_dir / "explanations.png"),
        seeds_figure(runs, fig_dir / "seeds.png"),
        explanation_table(runs),
        stability_table(runs),
    )
