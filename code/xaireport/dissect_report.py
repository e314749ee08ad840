"""Chapter 1: CLIP-Dissect of two ResNet-18s (ImageNet, Places365), with its tables and figures."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from . import models
from .dissect import ProbeSet, dissect, load_concepts, load_probe
from .dissect.categories import CATEGORIES, categorize, scene_words
from .dissect.encoders import load_clip
from .dissect.run import ModelDissection
from .fileio import save_csv
from .figures import save_figure

MODEL_LABELS = {"imagenet": "ResNet-18 (ImageNet)", "places365": "ResNet-18 (Places365)"}
DOWNLOADED_PROBES = ("places365-val", "broden")
DOWNLOADED_CONCEPTS = ("20k", "broden", "places365")


def missing_inputs(settings) -> list[str]:
    """Settings that must point at local files before chapter 1 can run without downloads
    (empty when downloads are allowed, or everything needed is local or random)."""
    d = lambda k: settings[f"dissection.{k}"]  # noqa: E731
    if d("download"):
        return []
    missing = []
    if not d("random_weights"):
        for key in ("imagenet", "places365"):
            if d(f"models.{key}.weights") is None:
                missing.append(f"dissection.models.{key}.weights")
        if d("models.places365.categories") is None:
            missing.append("dissection.models.places365.categories")
    if d("clip.weights") is None and d("clip.pretrained") not in ("none", ""):
        missing.append("dissection.clip.weights")
    if d("probe.source") != "generated" and d("probe.root") is None:
        missing.append("dissection.probe.root")
    if d("concepts") in DOWNLOADED_CONCEPTS:
        missing.append("dissection.concepts (a local file, or wordfreq-20k)")
    return missing


@dataclass
class DissectionRun:
    results: dict[str, ModelDissection]
    probe: ProbeSet
    concepts: list[str]
    clip: str


def run(report) -> DissectionRun:
    """Load both models, CLIP, the probe set and the concepts from the settings, and dissect (cached)."""
    s = report.settings
    d = lambda k: s[f"dissection.{k}"]  # noqa: E731
    device, seed = s["device"], s["seed"]
    nets = {}
    for i, key in enumerate(("imagenet", "places365")):
        nets[key] = models.load(d(f"models.{key}.model"), s.path(f"dissection.models.{key}.weights"), device,
                                random_init=d("random_weights"), seed=seed + i,
                                categories=s.path(f"dissection.models.{key}.categories")
                                if key == "places365" else None)
    probe = load_probe(d("probe.source"), s.path("dissection.probe.root"), d("probe.size"), seed,
                       cache_dir=s.path("paths.cache") / "probe")
    clip = load_clip(d("clip.arch"), d("clip.pretrained"), s.path("dissection.clip.weights"), device, seed)
    concepts = load_concepts(d("concepts"))
    results = dissect(report.cache, probe, clip, nets, d("layers"), concepts, d("similarity"), d("batch_size"),
                      d("num_workers"), final_layer=True, final_layer_units=d("final_layer_units"),
                      autocast=d("autocast"))
    return DissectionRun(results, probe, concepts, clip.identity)


def with_categories(result: ModelDissection, scenes: frozenset[str]) -> pd.DataFrame:
    t = result.table.copy()
    t["category"] = [categorize(x, scenes) for x in t["description"]]
    return t


def scenes_for(results: dict[str, ModelDissection]) -> frozenset[str]:
    places = results.get("places365")
    cats = places.classifier.categories if places and not places.classifier.categories[0].startswith("place ") \
        else None
    return scene_words(cats)


def layer_summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for key, t in tables.items():
        for layer, g in t.groupby("layer", sort=False):
            common = g["description"].value_counts().head(3)
            rows.append({"model": MODEL_LABELS.get(key, key), "layer": layer, "units": len(g),
                         "distinct labels": g["description"].nunique(),
                         "mean similarity": g["similarity"].mean(),
                         "most common labels": ", ".join(f"{w} ({n})" for w, n in common.items())})
    return pd.DataFrame(rows)


def category_counts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Units per category, per model and layer (columns: the categories)."""
    rows = []
    for key, t in tables.items():
        for layer, g in t.groupby("layer", sort=False):
            counts = g["category"].value_counts()
            rows.append({"model": MODEL_LABELS.get(key, key), "layer": layer,
                         **{c: int(counts.get(c, 0)) for c in CATEGORIES}})
    return pd.DataFrame(rows)


def scene_vs_object(counts: pd.DataFrame) -> pd.DataFrame:
    """Side by side: scene-like and object-like units per layer for the two models."""
    piv = counts.pivot(index="layer", columns="model", values=["scene", "object"])
    piv.columns = [f"{kind} units, {model}" for kind, model in piv.columns]
    return piv.reset_index()


def top_units(table: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    return table.sort_values("similarity", ascending=False).head(n).reset_index(drop=True)


#: The authors' final-layer check (Oikarinen & Weng, 2023, Table 2), for comparison with like setups only.
PAPER_FINAL_LAYER = {"model": "ResNet-50 (ImageNet)", "probe": "ImageNet validation", "top1": 0.955,
                     "concepts": "ImageNet classes, full WordNet names", "similarity": "soft_wpmi"}


def final_layer_table(results: dict[str, ModelDissection], probe_source: str, probe_size: int) -> pd.DataFrame:
    """Our final-layer check per model, with its setup (probe set, concept set), and the paper's row."""
    rows = []
    for k, r in results.items():
        c = r.classifier
        rows.append({"model": MODEL_LABELS.get(k, k), "probe set": f"{probe_source} ({probe_size} images)",
                     "concept set": "ImageNet classes, full WordNet names" if c.label_set == "imagenet-1k"
                     else "the model's class names",
                     "output units checked": f"{r.final_layer['units']} of {r.final_layer['total_units']}",
                     "top-1 accuracy": r.final_layer["top1"], "top-5 accuracy": r.final_layer["top5"]})
    p = PAPER_FINAL_LAYER
    rows.append({"model": f"{p['model']}, paper", "probe set": p["probe"], "concept set": p["concepts"],
                 "output units checked": "1000 of 1000", "top-1 accuracy": p["top1"], "top-5 accuracy": float("nan")})
    return pd.DataFrame(rows)


def final_layer_caption(probe_source: str, results: dict[str, ModelDissection]) -> str:
    """The final-layer table's caption: what is measured, our setup beside the paper's, and whether they compare."""
    same = comparable_to_paper(probe_source, results)
    return ("Final-layer check: the output units of each model dissected with its own classes as the concept set. "
            "Top-1 accuracy is the fraction of units labelled with their own class; top-5, the fraction whose class "
            "is among their five best concepts. The last row is the paper's check (ResNet-50, ImageNet validation "
            "images, full WordNet class names). " +
            ("This render uses ImageNet validation images too, so the ImageNet rows compare with it (a different "
             "network: ResNet-18)." if same else
             f"Our probe set is `{probe_source}`, not ImageNet validation images, so our rows do *not* compare with "
             "the paper's; set `dissection.probe.source: imagenet-val` (and `probe.root`) to run the paper's setup."))


def comparable_to_paper(probe_source: str, results: dict[str, ModelDissection]) -> bool:
    """Whether any of our rows has the paper's setup: an ImageNet-1k model on ImageNet validation images."""
    return probe_source == "imagenet-val" and any(r.classifier.label_set == "imagenet-1k" for r in results.values())


def selected_units(table: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Half the ``n`` units with the highest similarity, half drawn at random (seeded) from the rest."""
    best = table.sort_values("similarity", ascending=False).head(n - n // 2)
    rest = table.drop(best.index)
    rnd = rest.sample(n=min(n // 2, len(rest)), random_state=seed) if len(rest) else rest
    return pd.concat([best.assign(chosen="highest similarity"), rnd.assign(chosen="random")])


def top_images_figure(result: ModelDissection, probe_paths: tuple[Path, ...], units: pd.DataFrame, k: int,
                      path: Path, thumb: int = 96) -> Path:
    """Rows: the selected units (layer, unit, label, similarity); columns: their k most activating probe images."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(units), k, figsize=(1.3 * k + 1.6, 1.35 * len(units)), squeeze=False)
    for r, row in enumerate(units.itertuples()):
        acts = result.activations[row.layer][:, int(row.unit)]
        top = np.argsort(-acts.numpy(), kind="stable")[:k]
        for c, idx in enumerate(top):
            ax = axes[r][c]
            with Image.open(probe_paths[int(idx)]) as im:
                ax.imshow(im.convert("RGB").resize((thumb, thumb)))
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(f"{row.layer} #{row.unit}\n\u201c{row.description}\u201d\n{row.similarity:.2f}"
                              f"{' (random)' if row.chosen == 'random' else ''}", fontsize=7, rotation=0,
                              ha="right", va="center")
    fig.tight_layout()
    return save_figure(fig, path)


def category_figure(counts: pd.DataFrame, path: Path) -> Path:
    import matplotlib.pyplot as plt

    models_ = list(dict.fromkeys(counts["model"]))
    fig, axes = plt.subplots(1, len(models_), figsize=(5 * len(models_), 2.8), squeeze=False, sharey=True)
    colours = {"colour": "#d62728", "texture": "#8c564b", "object": "#1f77b4", "scene": "#2ca02c", "other": "#bbbbbb"}
    for ax, m in zip(axes[0], models_):
        g = counts[counts["model"] == m].set_index("layer")[list(CATEGORIES)]
        frac = g.div(g.sum(axis=1), axis=0)
        left = np.zeros(len(frac))
        for cat in CATEGORIES:
            ax.barh(frac.index, frac[cat], left=left, color=colours[cat], label=cat)
            left += frac[cat].to_numpy()
        ax.set_title(m, fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction of units")
        ax.invert_yaxis()
    axes[0][-1].legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.1), ncol=5)
    fig.tight_layout()
    return save_figure(fig, path)


def save_tables(tables: dict[str, pd.DataFrame], results_dir: Path) -> dict[str, Path]:
    """``<model>_descriptions.csv`` with columns layer, unit, description, similarity (and category)."""
    out = {}
    for key, t in tables.items():
        p = results_dir / f"{key}_descriptions.csv"
        save_csv(t[["layer", "unit", "description", "similarity", "category"]], p)
        out[key] = p
    return out
