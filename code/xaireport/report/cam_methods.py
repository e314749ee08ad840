"""Chapter 2 (``chapters/cam-methods.qmd``): the CAMs of every image (:mod:`xaireport.results.explanations`) and
their faithfulness (:mod:`xaireport.results.faithfulness`) as tables, figures and verdicts — :func:`prepare`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from xaireport.core.fileio import save_csv
from xaireport.images import LoadedImage
from xaireport.methods.decision import ABOVE, BELOW, decide
from xaireport.methods.explanations import Explanation
from xaireport.methods.ranking import Ranking, rank_methods
from xaireport.methods.registry import label, names
from xaireport.methods.spread import spread
from xaireport.outputs import overlay, write_map_outputs
from xaireport.report.figures import cached_figure, image_grid, save_figure
from xaireport.results.explanations import explain_images
from xaireport.results.faithfulness import cached_faithfulness

if TYPE_CHECKING:
    from xaireport.session import Session


@dataclass
class CamRun:
    """Every method's explanation of one image."""

    image: LoadedImage
    crop: np.ndarray
    results: dict[str, Explanation]
    faithfulness: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def prediction(self) -> Explanation:
        return next(iter(self.results.values()))


def run(session: Session, with_faithfulness: bool = True, methods: list[str] | None = None) -> list[CamRun]:
    """Chapter 2: every method of ``cams.methods`` (or ``methods``) on every image (cached), with its ROAD
    faithfulness scores."""
    s = session.settings
    chosen = session.methods(methods or s.cams.methods, "cams.methods")
    clf, cache = session.classifier(), session.cache
    runs = []
    for e in explain_images(session, chosen, desc="CAMs"):
        r = CamRun(e.image, e.crop, e.results)
        if with_faithfulness:
            r.faithfulness = {
                m: cached_faithfulness(
                    cache, clf, e.image, res, s.cams.road_percentiles, s.cams.remove_fraction, s.seed
                )
                for m, res in e.results.items()
            }
        runs.append(r)
    return runs


def predictions_table(runs: list[CamRun]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "image": r.image.name,
                "class_index": r.prediction.class_index,
                "class_name": r.prediction.class_name,
                "probability": r.prediction.score,
            }
            for r in runs
        ]
    )


def runtime_table(runs: list[CamRun]) -> pd.DataFrame:
    """Seconds per image for each method (as measured when the result was computed)."""
    rows = []
    methods = list(runs[0].results) if runs else []
    for m in methods:
        secs = np.array([r.results[m].seconds for r in runs])
        rows.append(
            {"method": label(m), "mean s / image": secs.mean(), "max s / image": secs.max(), "total s": secs.sum()}
        )
    return pd.DataFrame(rows)


def faithfulness_table(runs: list[CamRun]) -> pd.DataFrame:
    rows = []
    for r in runs:
        for m, f in r.faithfulness.items():
            rows.append({"image": r.image.name, "method": label(m), "ROAD": f["road"], "drop": f["drop"]})
    return pd.DataFrame(rows)


def faithfulness_summary(t: pd.DataFrame) -> pd.DataFrame:
    """Mean ROAD and mean drop per method of :func:`faithfulness_table`, ranked by ROAD (1 = most faithful)."""
    g = (
        t.groupby("method", sort=False)
        .agg(ROAD=("ROAD", "mean"), ROAD_std=("ROAD", "std"), drop=("drop", "mean"), drop_std=("drop", "std"))
        .reset_index()
    )
    wins = t.loc[t.groupby("image")["ROAD"].idxmax(), "method"].value_counts()
    g["best on images"] = g["method"].map(wins).fillna(0).astype(int)
    g["rank"] = g["ROAD"].rank(ascending=False, method="min").astype(int)
    return g.sort_values("rank").reset_index(drop=True)


@cached_figure
def overlay_figure(runs: list[CamRun], path: Path) -> Path:
    rows, titles = [], []
    for r in runs:
        rows.append([r.crop] + [overlay(r.crop, res.map) for res in r.results.values()])
        p = r.prediction
        titles.append([f"{p.class_name} ({p.score:.2f})"] + [""] * len(r.results))
    cols = ["input"] + [label(m) for m in runs[0].results]
    fig = image_grid(rows, [r.image.stem for r in runs], cols, cell_titles=titles)
    return save_figure(fig, path)


@cached_figure
def row_figure(r: CamRun, path: Path) -> Path:
    """One image's input and overlays in a row (the HTML page's per-image tabs)."""
    p = r.prediction
    cells = [r.crop] + [overlay(r.crop, res.map) for res in r.results.values()]
    titles = [f"{p.class_name} ({p.score:.2f})"] + [label(m) for m in r.results]
    fig = image_grid([cells], [""], [""] * len(cells), cell_titles=[titles], titles_only=True, size=2.6)
    return save_figure(fig, path)


@cached_figure
def mask_figure(runs: list[CamRun], path: Path) -> Path:
    rows = [[res.map for res in r.results.values()] for r in runs]
    fig = image_grid(rows, [r.image.stem for r in runs], [label(m) for m in runs[0].results], cmap="gray")
    return save_figure(fig, path)


def save_all(runs: list[CamRun], figures_dir: Path, results_dir: Path) -> None:
    """Per-image outputs as ``xaireport cams`` writes them, into the chapter's figures and results folders."""
    for r in runs:
        for res in r.results.values():
            write_map_outputs(figures_dir, r.image.stem, r.crop, res)
    save_csv(predictions_table(runs), results_dir / "predictions.csv")
    if runs and runs[0].faithfulness:
        save_csv(faithfulness_table(runs), results_dir / "faithfulness.csv")
    if runs:
        save_csv(shape_table(runs), results_dir / "shape.csv")


@dataclass
class RankingVerdict:
    """Chapter 2's faithfulness ranking on ROAD, with the tests behind it (:func:`xaireport.methods.ranking.
    rank_methods`: Friedman over the methods, then Holm-corrected paired t-tests against the best mean)."""

    best: pd.Series  # the summary row with the highest mean ROAD
    worst: pd.Series  # the summary row with the lowest
    ranking: Ranking

    @property
    def outcome(self) -> str:
        """``best``, ``among the best`` or ``no ranking``."""
        return self.ranking.outcome

    @property
    def among_best(self) -> list[str]:
        return self.ranking.among_best


def ranking_verdict(summary: pd.DataFrame, table: pd.DataFrame) -> RankingVerdict:
    """``summary``: :func:`faithfulness_summary` (ranked); ``table``: :func:`faithfulness_table` (per image)."""
    best, worst = summary.iloc[0], summary.iloc[-1]
    wide = table.pivot(index="image", columns="method", values="ROAD")[list(summary["method"])]
    return RankingVerdict(best, worst, rank_methods(wide, "higher"))


def tabs_markdown(runs: list[CamRun], report, figures_dir: Path) -> str:
    """HTML only: one tab per image with a larger view of its input and maps (figures saved per image)."""
    from xaireport.report.escaping import md

    parts = ['::: {.content-visible when-format="html"}\n\n::: {.panel-tabset}\n']
    for r in runs:
        png = row_figure(r, figures_dir / "rows" / f"{r.image.stem}.png")
        methods = ", ".join(md(label(m)) for m in r.results)
        parts.append(
            f"### {md(r.image.stem)}\n\n![{md(r.image.name)}: {md(r.prediction.class_name)} "
            f"({r.prediction.score:.2f}) with the {methods} overlays.](<{report.md_path(png)}>)\n"
        )
    parts.append(":::\n\n:::\n")
    return "\n".join(parts)


# --- Diffuse or sharp? (the claims a reader brings: AblationCAM "more diffuse", ScoreCAM "sharper") ---------


def shape_table(runs: list[CamRun]) -> pd.DataFrame:
    """Per image and method: how spread out its map is (:func:`xaireport.methods.spread.spread`)."""
    rows = [
        {"image": r.image.name, "method": label(m), **spread(res.map)} for r in runs for m, res in r.results.items()
    ]
    return pd.DataFrame(rows)


def shape_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean of each measure over the images, in display order."""
    order = [label(m) for m in names() if label(m) in set(table["method"])]
    out = table.groupby("method")[["area ≥ 0.5", "entropy", "Gini"]].mean().reindex(order)
    out.index.name = "method"
    return out


@dataclass
class ClaimCheck:
    """One claim about a method's map shape, decided from the per-image numbers (the chapter words it)."""

    method: str  # the label of the method the claim is about: AblationCAM "more diffuse", ScoreCAM "sharper"
    measure: str  # the measure that decides it: "entropy" (more diffuse) or "Gini" (sharper)
    outcome: str  # "holds", "contradicted" or "undecided"
    images: int  # images on which the method's measure is the highest
    total: int
    means: dict[str, float]  # mean of ``measure`` over the images, per method (the claim's method first)
    area_means: dict[str, float]  # mean area ≥ 0.5, per method

    @property
    def holds(self) -> bool:
        return self.outcome == "holds"


#: The two claims: (the registry name of the method they are about, measure whose higher value the claim means,
#: the direction of area ≥ 0.5). A claim is checked when its method is among the chapter's methods.
CLAIMS = (
    ("ablationcam", "entropy", ABOVE),
    ("scorecam", "Gini", BELOW),
)


def check_claims(table: pd.DataFrame) -> list[ClaimCheck]:
    """The assignment's two claims, each decided (:func:`~xaireport.methods.decision.decide`) on the per-image
    differences to every other method, for its measure (AblationCAM: higher entropy; ScoreCAM: higher Gini) and
    for the area ≥ 0.5 (more diffuse: larger; sharper: smaller). It holds when every one of these is decided in
    its direction, is contradicted when one is decided against it, and is otherwise not decided."""
    wide = table.pivot(index="image", columns="method")
    methods = list(dict.fromkeys(table["method"]))
    out = []
    for method, measure, area_direction in CLAIMS:
        name = label(method)
        if name not in methods or len(methods) < 2:
            continue
        others = [m for m in methods if m != name]
        col, area = wide[measure], wide["area ≥ 0.5"]
        wins = int((col[name] > col[others].max(axis=1)).sum())
        checks = [(decide(col[name] - col[o], 0.0), ABOVE) for o in others]
        checks += [(decide(area[name] - area[o], 0.0), area_direction) for o in others]
        if all(d.outcome == want for d, want in checks):
            outcome = "holds"
        elif any(d.decided and d.outcome != want for d, want in checks):
            outcome = "contradicted"
        else:
            outcome = "undecided"
        order = [name, *others]
        means = {m: float(col[m].mean()) for m in order}
        area_means = {m: float(area[m].mean()) for m in order}
        out.append(ClaimCheck(name, measure, outcome, wins, len(col), means, area_means))
    return out


def grid_size(classifier) -> tuple[int, int]:
    """The target layer's spatial grid for the model's input crop (e.g. 7 × 7 for 224 px and stride 32)."""
    from xaireport.models.description import LazyClassifier, feature_grid

    return classifier.grid if isinstance(classifier, LazyClassifier) else feature_grid(classifier)


# --- The chapter's page: what the .qmd shows --------------------------------------------------------------


@dataclass
class Chapter:
    """Chapter 2's runs, tables, figures and verdicts."""

    runs: list[CamRun]
    figures_dir: Path
    results_dir: Path
    overlay_png: Path
    mask_png: Path
    predictions: pd.DataFrame
    runtime: pd.DataFrame  # indexed by method label
    faithfulness: pd.DataFrame
    summary: pd.DataFrame
    verdict: RankingVerdict
    shape: pd.DataFrame
    shape_summary: pd.DataFrame
    claims: list[ClaimCheck]
    grid: tuple[int, int]


def prepare(session: Session) -> Chapter:
    """Explain every image with every method of ``cams.methods`` (cached), save the per-image files and CSVs, draw
    the figures and compute the tables and verdicts."""
    runs = run(session)
    fig_dir, res_dir = session.figures_dir("cams"), session.results_dir("cams")
    save_all(runs, fig_dir, res_dir)
    faith = faithfulness_table(runs)
    summary = faithfulness_summary(faith)
    shape = shape_table(runs)
    return Chapter(
        runs,
        fig_dir,
        res_dir,
        overlay_figure(runs, fig_dir / "overlays.png"),
        mask_figure(runs, fig_dir / "masks.png"),
        predictions_table(runs),
        runtime_table(runs).set_index("method"),
        faith,
        summary,
        ranking_verdict(summary, faith),
        shape,
        shape_summary(shape),
        check_claims(shape),
        grid_size(session.classifier()),
    )
