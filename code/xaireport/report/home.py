"""The home page's findings (``index.qmd``): a teaser figure (one image with every CAM of chapter 2 and LIME side
by side) and each chapter's object (:func:`prepare`), whose headline numbers the page states and links. Everything
comes from the same cached results the chapters show (the home page renders after them, so nothing is computed
twice)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xaireport.methods.display import displayed
from xaireport.methods.registry import get, label
from xaireport.report import cam_methods, gradcam_vs_lime, lime, network_dissection, sanity_checks
from xaireport.report.figures import MAP_CMAP, cached_figure, image_grid, save_figure

if TYPE_CHECKING:
    from xaireport.session import Session


@cached_figure
def teaser_figure(cam: cam_methods.CamRun, lime_run: lime.LimeRun, outlier_percent: float, path: Path) -> Path:
    """The image as the model sees it, then each CAM method's map and LIME's as heat maps beside it, each scaled as
    its family's maps are (:func:`~xaireport.report.figures.displayed`), with one colour bar."""
    views = [cam.crop] + [displayed(r, get(m), outlier_percent) for m, r in cam.results.items()]
    views.append(displayed(lime_run.result.heatmap, get("lime"), outlier_percent))
    labels = ["input"] + [label(m) for m in cam.results] + ["LIME"]
    p = cam.prediction
    fig = image_grid(
        [views],
        [f"{p.class_name} ({p.score:.2f})"],
        labels,
        cmap=MAP_CMAP,
        size=2.2,
        colorbar="positive evidence (1 = the map's top)",
    )
    return save_figure(fig, path)


@dataclass
class Findings:
    """Every chapter's object, and the teaser of the first image."""

    dissection: network_dissection.Chapter
    cams: cam_methods.Chapter
    comparison: gradcam_vs_lime.Chapter
    sanity: sanity_checks.Chapter
    teaser_png: Path


def prepare(session: Session) -> Findings:
    cams = cam_methods.prepare(session)
    lime_chapter = lime.prepare(session)
    return Findings(
        network_dissection.prepare(session),
        cams,
        gradcam_vs_lime.prepare(session),
        sanity_checks.prepare(session),
        teaser_figure(
            cams.runs[0],
            lime_chapter.runs[0],
            session.settings.display.outlier_percent,
            session.figures_dir("home") / "teaser.png",
        ),
    )
