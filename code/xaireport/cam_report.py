"""Chapter 2's computations, all through the result cache: CAMs per image and method, their faithfulness,
the tables and figures. Also the writer behind ``xaireport cams``."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from . import progress

from . import faithfulness
from .cache import ResultCache, bytes_digest, make_key
from .cams import METHODS, CamResult, explain
from .errors import UserError
from .fileio import save_csv, save_npy
from .figures import image_grid, overlay, save_figure, save_png
from .images import LoadedImage
from .modelnames import CAM_LABELS
from .models import Classifier

LABELS = CAM_LABELS


def cam_key(classifier: Classifier, image: LoadedImage, method: str, target: int | None) -> str:
    return make_key(kind="cam", method=method, model=classifier.name, weights=classifier.weights_id,
                    image=image.digest, target=target)


def cached_cam(cache: ResultCache, classifier: Classifier, image: LoadedImage, method: str,
               target: int | None = None, batch_size: int | None = None) -> CamResult:
    """:func:`xaireport.cams.explain`, cached by model weights, image bytes, method, target and code version."""
    def compute():
        r = explain(classifier, image.array, method, target, batch_size=batch_size)
        return {"map": r.map}, {"method": method, "class_index": r.class_index, "class_name": r.class_name,
                                "score": r.score, "seconds": r.seconds, "device": str(classifier.device)}

    arrays, meta = cache.get_or_compute("cams", cam_key(classifier, image, method, target), compute)
    return CamResult(method=method, map=arrays["map"], class_index=meta["class_index"],
                     class_name=meta["class_name"], score=meta["score"], seconds=meta["seconds"])


def cached_faithfulness(cache: ResultCache, classifier: Classifier, image: LoadedImage, result: CamResult,
                        percentiles: list[int], remove_fraction: float, seed: int) -> dict[str, float]:
    key = make_key(kind="faithfulness", model=classifier.name, weights=classifier.weights_id, image=image.digest,
                   map=map_digest(result.map), cls=result.class_index, percentiles=percentiles,
                   remove_fraction=remove_fraction, seed=seed)

    def compute():
        s = faithfulness.scores(classifier, classifier.crop(image.array), result.map, result.class_index,
                                percentiles=percentiles, remove_fraction=remove_fraction, seed=seed)
        return {}, s

    return cache.get_or_compute("faithfulness", key, compute)[1]


def map_digest(a: np.ndarray) -> str:
    return bytes_digest(np.ascontiguousarray(a, dtype=np.float32).tobytes())


@dataclass
class CamRun:
    """Every method's explanation of one image."""

    image: LoadedImage
    crop: np.ndarray
    results: dict[str, CamResult]
    faithfulness: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def prediction(self) -> CamResult:
        return next(iter(self.results.values()))


def run(report, with_faithfulness: bool = True, methods: list[str] | None = None) -> list[CamRun]:
    """Chapter 2: every configured method (or ``methods``) on every report image (cached)."""
    s = report.settings
    methods = methods or s["cams.methods"]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise UserError(f"unknown CAM method {', '.join(unknown)} in cams.methods: choose from {', '.join(METHODS)}")
    clf, cache = report.classifier(), report.cache
    runs = []
    for image in progress.bar(report.images(), desc="CAMs", unit="image"):
        results = {}
        for m in methods:
            bs = s["cams.ablation_batch_size"] if m == "ablationcam" else s["cams.batch_size"]
            results[m] = cached_cam(cache, clf, image, m, batch_size=bs)
        r = CamRun(image, clf.crop(image.array), results)
        if with_faithfulness:
            r.faithfulness = {m: cached_faithfulness(cache, clf, image, res, s["cams.road_percentiles"],
                                                     s["cams.remove_fraction"], s["seed"])
                              for m, res in results.items()}
        runs.append(r)
    return runs


def write_outputs(out: Path, stem: str, crop: np.ndarray, result: CamResult) -> None:
    """``OUT/<method>/<stem>.npy`` (map), ``<stem>.png`` (overlay), ``<stem>-mask.png`` (greyscale map)."""
    d = Path(out) / result.method
    d.mkdir(parents=True, exist_ok=True)
    save_npy(d / f"{stem}.npy", result.map)
    save_png(overlay(crop, result.map), d / f"{stem}.png")
    save_png(result.map, d / f"{stem}-mask.png")


def write_predictions(path: Path, rows: list[tuple[str, int, str, float]]) -> None:
    save_csv(pd.DataFrame(rows, columns=["image", "class_index", "class_name", "probability"]), path,
             float_format="%.6f")


def predictions_table(runs: list[CamRun]) -> pd.DataFrame:
    return pd.DataFrame([{"image": r.image.name, "class_index": r.prediction.class_index,
                          "class_name": r.prediction.class_name, "probability": r.prediction.score} for r in runs])


def runtime_table(runs: list[CamRun]) -> pd.DataFrame:
    """Seconds per image for each method (as measured when the result was computed)."""
    rows = []
    methods = list(runs[0].results) if runs else []
    for m in methods:
        secs = np.array([r.results[m].seconds for r in runs])
        rows.append({"method": LABELS[m], "mean s / image": secs.mean(), "max s / image": secs.max(),
                     "total s": secs.sum()})
    return pd.DataFrame(rows)


def faithfulness_table(runs: list[CamRun]) -> pd.DataFrame:
    rows = []
    for r in runs:
        for m, f in r.faithfulness.items():
            rows.append({"image": r.image.name, "method": LABELS[m], "ROAD": f["road"], "drop": f["drop"]})
    return pd.DataFrame(rows)


def faithfulness_summary(runs: list[CamRun]) -> pd.DataFrame:
    """Mean ROAD and mean drop per method, ranked by ROAD (1 = most faithful)."""
    t = faithfulness_table(runs)
    g = t.groupby("method", sort=False).agg(ROAD=("ROAD", "mean"), ROAD_std=("ROAD", "std"),
                                            drop=("drop", "mean"), drop_std=("drop", "std")).reset_index()
    wins = t.loc[t.groupby("image")["ROAD"].idxmax(), "method"].value_counts()
    g["best on images"] = g["method"].map(wins).fillna(0).astype(int)
    g["rank"] = g["ROAD"].rank(ascending=False, method="min").astype(int)
    return g.sort_values("rank").reset_index(drop=True)


def overlay_figure(runs: list[CamRun], path: Path) -> Path:
    rows, titles = [], []
    for r in runs:
        rows.append([r.crop] + [overlay(r.crop, res.map) for res in r.results.values()])
        p = r.prediction
        titles.append([f"{p.class_name} ({p.score:.2f})"] + [""] * len(r.results))
    cols = ["input"] + [LABELS[m] for m in runs[0].results]
    fig = image_grid(rows, [r.image.stem for r in runs], cols, cell_titles=titles)
    return save_figure(fig, path)


def row_figure(r: CamRun, path: Path) -> Path:
    """One image's input and overlays in a row (the HTML page's per-image tabs)."""
    p = r.prediction
    cells = [r.crop] + [overlay(r.crop, res.map) for res in r.results.values()]
    titles = [f"{p.class_name} ({p.score:.2f})"] + [LABELS[m] for m in r.results]
    fig = image_grid([cells], [""], [""] * len(cells), cell_titles=[titles], titles_only=True, size=2.6)
    return save_figure(fig, path)


def mask_figure(runs: list[CamRun], path: Path) -> Path:
    rows = [[res.map for res in r.results.values()] for r in runs]
    fig = image_grid(rows, [r.image.stem for r in runs], [LABELS[m] for m in runs[0].results], cmap="gray")
    return save_figure(fig, path)


def save_all(runs: list[CamRun], figures_dir: Path, results_dir: Path) -> None:
    """Per-image outputs as ``xaireport cams`` writes them, into the chapter's figures and results folders."""
    for r in runs:
        for res in r.results.values():
            write_outputs(figures_dir, r.image.stem, r.crop, res)
    save_csv(predictions_table(runs), results_dir / "predictions.csv")
    if runs and runs[0].faithfulness:
        save_csv(faithfulness_table(runs), results_dir / "faithfulness.csv")


__all__ = ["METHODS", "CamRun", "cached_cam", "run", "write_outputs"]
