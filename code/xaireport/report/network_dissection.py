"""Chapter 1: CLIP-Dissect of two ResNet-18s (ImageNet, Places365), with its tables and figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from PIL import Image

from xaireport import models
from xaireport.core.fileio import save_csv
from xaireport.methods.dissect.categories import CATEGORIES, categorize, scene_words
from xaireport.methods.dissect.concepts import load_concepts
from xaireport.methods.dissect.probe import ProbeSet, load_probe
from xaireport.report import markdown
from xaireport.report.figures import cached_figure, save_figure
from xaireport.report.tables import interactive
from xaireport.results import dissect

if TYPE_CHECKING:
    from xaireport.methods.dissect.labels import ModelDissection

RANDOM_KEY = "random"  # the random-weight ResNet-18 dissected as the null distribution
NULL_QUANTILE = 0.95
MODEL_LABELS = {
    "random": "ResNet-18 (random weights)",
    "imagenet": "ResNet-18 (ImageNet)",
    "places365": "ResNet-18 (Places365)",
}
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
    baseline: ModelDissection | None = None


def run(report) -> DissectionRun:
    """Load both models, CLIP, the probe set and the concepts from the settings, and dissect (cached)."""
    from xaireport.methods.dissect.encoders import load_clip

    s = report.settings
    d = lambda k: s[f"dissection.{k}"]  # noqa: E731
    device, seed = s["device"], s["seed"]
    nets = {}
    for i, key in enumerate(("imagenet", "places365")):
        nets[key] = models.load(
            d(f"models.{key}.model"),
            s.path(f"dissection.models.{key}.weights"),
            device,
            random_init=d("random_weights"),
            seed=seed + i,
            categories=s.path(f"dissection.models.{key}.categories") if key == "places365" else None,
        )
    # The null distribution: the same architecture with random weights, dissected with the same CLIP, probe
    # set and concepts (Adebayo et al.'s sanity check applied to network dissection).
    nets[RANDOM_KEY] = models.load(d("models.imagenet.model"), None, device, random_init=True, seed=seed + 1000)
    probe = load_probe(
        d("probe.source"),
        s.path("dissection.probe.root"),
        d("probe.size"),
        seed,
        cache_dir=s.path("paths.cache") / "probe",
    )
    clip = load_clip(d("clip.arch"), d("clip.pretrained"), s.path("dissection.clip.weights"), device, seed)
    concepts = load_concepts(d("concepts"))
    results = dissect(
        report.cache,
        probe,
        clip,
        nets,
        d("layers"),
        concepts,
        d("similarity"),
        d("batch_size"),
        d("num_workers"),
        final_layer=True,
        final_layer_units=d("final_layer_units"),
        autocast=d("autocast"),
    )
    baseline = results.pop(RANDOM_KEY)
    return DissectionRun(results, probe, concepts, clip.identity, baseline)


def null_thresholds(baseline: ModelDissection, q: float = NULL_QUANTILE) -> dict[str, float]:
    """Per layer: the ``q`` quantile of the random network's units' best similarities (the null distribution)."""
    return {str(layer): float(g["similarity"].quantile(q)) for layer, g in baseline.table.groupby("layer", sort=False)}


def null_table(tables: dict[str, pd.DataFrame], thresholds: dict[str, float]) -> pd.DataFrame:
    """Per trained model and layer: the random network's 95th percentile and the share of units above it."""
    rows = []
    for key, t in tables.items():
        for layer, g in t.groupby("layer", sort=False):
            rows.append(
                {
                    "model": MODEL_LABELS.get(key, key),
                    "layer": layer,
                    "units": len(g),
                    "random p95 similarity": thresholds[str(layer)],
                    "units above it": float(g["beats_random"].mean()),
                }
            )
    return pd.DataFrame(rows)


def with_categories(
    result: ModelDissection, scenes: frozenset[str], thresholds: dict[str, float] | None = None
) -> pd.DataFrame:
    """The table with each label's category and, given the null thresholds, whether the unit's similarity is
    above the random network's 95th percentile for its layer (``beats_random``)."""
    t = result.table.copy()
    if thresholds is not None:
        t["beats_random"] = [bool(sim > thresholds[str(layer)]) for layer, sim in zip(t["layer"], t["similarity"])]
    t["category"] = [categorize(x, scenes) for x in t["description"]]
    return t


def scenes_for(results: dict[str, ModelDissection]) -> frozenset[str]:
    places = results.get("places365")
    cats = places.classifier.categories if places and not places.classifier.categories[0].startswith("place ") else None
    return scene_words(cats)


def layer_summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for key, t in tables.items():
        for layer, g in t.groupby("layer", sort=False):
            common = g["description"].value_counts().head(3)
            rows.append(
                {
                    "model": MODEL_LABELS.get(key, key),
                    "layer": layer,
                    "units": len(g),
                    "distinct labels": g["description"].nunique(),
                    "mean similarity": g["similarity"].mean(),
                    "most common labels": ", ".join(f"{w} ({n})" for w, n in common.items()),
                }
            )
    return pd.DataFrame(rows)


def category_counts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Units per category, per model and layer (columns: the categories)."""
    rows = []
    for key, t in tables.items():
        for layer, g in t.groupby("layer", sort=False):
            counts = g["category"].value_counts()
            rows.append(
                {"model": MODEL_LABELS.get(key, key), "layer": layer, **{c: int(counts.get(c, 0)) for c in CATEGORIES}}
            )
    return pd.DataFrame(rows)


def scene_vs_object(counts: pd.DataFrame) -> pd.DataFrame:
    """Side by side: scene-like and object-like units per layer for the two models."""
    piv = counts.pivot(index="layer", columns="model", values=["scene", "object"])
    piv.columns = [f"{kind} units, {model}" for kind, model in piv.columns]
    return piv.reset_index()


def top_units(table: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    return table.sort_values("similarity", ascending=False).head(n).reset_index(drop=True)


#: The authors' final-layer check (Oikarinen & Weng, 2023, Table 2), for comparison with like setups only.
PAPER_FINAL_LAYER: dict[str, str | float] = {
    "model": "ResNet-50 (ImageNet)",
    "probe": "ImageNet validation",
    "top1": 0.955,
    "concepts": "ImageNet classes, full WordNet names",
    "similarity": "soft_wpmi",
}


def final_layer_table(results: dict[str, ModelDissection], probe_source: str, probe_size: int) -> pd.DataFrame:
    """Our final-layer check per model, with its setup (probe set, concept set), and the paper's row."""
    rows = []
    for k, r in results.items():
        c = r.classifier
        rows.append(
            {
                "model": MODEL_LABELS.get(k, k),
                "probe set": f"{probe_source} ({probe_size} images)",
                "concept set": "ImageNet classes, full WordNet names"
                if c.label_set == "imagenet-1k"
                else "the model's class names",
                "output units checked": f"{r.final_layer['units']} of {r.final_layer['total_units']}",
                "top-1 accuracy": r.final_layer["top1"],
                "top-5 accuracy": r.final_layer["top5"],
            }
        )
    p = PAPER_FINAL_LAYER
    rows.append(
        {
            "model": f"{p['model']}, paper",
            "probe set": p["probe"],
            "concept set": p["concepts"],
            "output units checked": "1000 of 1000",
            "top-1 accuracy": p["top1"],
            "top-5 accuracy": float("nan"),
        }
    )
    return pd.DataFrame(rows)


def final_layer_caption(probe_source: str, results: dict[str, ModelDissection]) -> str:
    """The final-layer table's caption: what is measured, our setup beside the paper's, and whether they compare."""
    same = comparable_to_paper(probe_source, results)
    return (
        "Final-layer check: the output units of each model dissected with its own classes as the concept set. "
        "Top-1 accuracy is the fraction of units labelled with their own class; top-5, the fraction whose class "
        "is among their five best concepts. The last row is the paper's check (ResNet-50, ImageNet validation "
        "images, full WordNet class names). "
        + (
            "This render uses ImageNet validation images too, so the ImageNet rows compare with it (a different "
            "network: ResNet-18)."
            if same
            else f"Our probe set is `{probe_source}`, not ImageNet validation images, so our rows do *not* compare "
            "with the paper's; set `dissection.probe.source: imagenet-val` (and `probe.root`) to run the paper's setup."
        )
    )


def comparable_to_paper(probe_source: str, results: dict[str, ModelDissection]) -> bool:
    """Whether any of our rows has the paper's setup: an ImageNet-1k model on ImageNet validation images."""
    return probe_source == "imagenet-val" and any(r.classifier.label_set == "imagenet-1k" for r in results.values())


def selected_units(table: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Half the ``n`` units with the highest similarity, half drawn at random (seeded) from the rest."""
    best = table.sort_values("similarity", ascending=False).head(n - n // 2)
    rest = table.drop(best.index)
    rnd = rest.sample(n=min(n // 2, len(rest)), random_state=seed) if len(rest) else rest
    return pd.concat([best.assign(chosen="highest similarity"), rnd.assign(chosen="random")])


@cached_figure
def top_images_figure(
    result: ModelDissection, probe_paths: tuple[Path, ...], units: pd.DataFrame, k: int, path: Path, thumb: int = 96
) -> Path:
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
        axes[r][0].set_ylabel(
            f"{row.layer} #{row.unit}\n\u201c{row.description}\u201d\n{row.similarity:.2f}"
            f"{' (random)' if row.chosen == 'random' else ''}",
            fontsize=7,
            rotation=0,
            ha="right",
            va="center",
        )
    fig.tight_layout()
    return save_figure(fig, path)


@cached_figure
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
    """``<model>_descriptions.csv`` with columns layer, unit, description, similarity, category (and
    beats_random: the similarity is above the random network's 95th percentile for the layer)."""
    out = {}
    for key, t in tables.items():
        p = results_dir / f"{key}_descriptions.csv"
        cols = ["layer", "unit", "description", "similarity", "category"]
        save_csv(t[cols + (["beats_random"] if "beats_random" in t else [])], p)
        out[key] = p
    return out


# --- The chapter's page: what the .qmd prints ------------------------------------------------------------


@dataclass
class Chapter:
    """Everything chapter 1 shows, computed once at the top of the page (``ready`` false: only the callout)."""

    ready: bool
    missing: list[str]
    enabled: bool
    run: DissectionRun | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    csvs: dict[str, Path] = field(default_factory=dict)
    summary: pd.DataFrame | None = None
    counts: pd.DataFrame | None = None
    final: pd.DataFrame | None = None
    category_png: Path | None = None
    unit_pngs: dict[str, Path] = field(default_factory=dict)
    null: pd.DataFrame | None = None


def prepare(report) -> Chapter:
    """Run the dissection (cached) when its inputs are there, save its tables and draw its figures."""
    s = report.settings
    missing = missing_inputs(s)
    enabled = bool(s["dissection.enabled"])
    if not enabled or missing:
        return Chapter(False, missing, enabled)
    r = run(report)
    fig_dir, res_dir = report.figures_dir("dissection"), report.results_dir("dissection")
    assert r.baseline is not None
    thresholds = null_thresholds(r.baseline)
    tables = {k: with_categories(res, scenes_for(r.results), thresholds) for k, res in r.results.items()}
    counts = category_counts(tables)
    shown, top = s["dissection.units_shown"], s["dissection.top_images"]
    chapter = Chapter(
        True,
        missing,
        enabled,
        r,
        tables,
        save_tables(tables, res_dir),
        layer_summary(tables),
        counts,
        final_layer_table({**r.results, RANDOM_KEY: r.baseline}, s["dissection.probe.source"], len(r.probe)),
        category_figure(counts, fig_dir / "categories.png"),
        {
            k: top_images_figure(
                res, r.probe.paths, selected_units(tables[k], shown, s["seed"]), top, fig_dir / f"{k}_top_images.png"
            )
            for k, res in r.results.items()
        },
    )
    chapter.null = null_table(tables, thresholds)
    return chapter


def setup_table(settings) -> pd.DataFrame:
    """The chapter's settings, one dotted key per row; each model as 'name (weights: file or download)'."""
    from xaireport.report import settings_rows

    rows = [r for r in settings_rows(settings, "dissection") if not r[0].startswith("dissection.models")]
    rows += [
        (f"dissection.models.{k}", f"{v['model']} (weights: {v['weights'] or 'download'})")
        for k, v in settings["dissection.models"].items()
    ]
    return pd.DataFrame(rows, columns=["setting", "value"])


def missing_callout(ch: Chapter) -> str:
    """The callout shown instead of the results: switched off, or which settings must point at local files."""
    if not ch.enabled:
        return "::: {.callout-note}\nNetwork dissection is switched off in this render (`dissection.enabled: false`).\n:::\n"  # noqa: E501
    return markdown.callout(
        "important",
        "Network dissection needs CLIP weights, a probe set and model weights",
        "This render may not download anything (`dissection.download: false`), and these settings do not yet point "
        "at local files:\n\n" + "\n".join(f"- `{m}`" for m in ch.missing) + "\n\nSet them in `_quarto.yml` (or "
        "`_quarto-offline.yml`) and re-render. The files are: the CLIP checkpoint (`open_clip_pytorch_model.bin` of "
        "`timm/vit_base_patch16_clip_224.openai`), a folder of probe images (e.g. the Places365 validation images "
        "`val_256/`), the torchvision ResNet-18 weights (`resnet18-f37072fd.pth`), and the Places365 ResNet-18 "
        "checkpoint `resnet18_places365.pth.tar` with `categories_places365.txt`.",
    )


def results_markdown(ch: Chapter, settings) -> str:
    """The results section's opening: probe set, concepts and CLIP, the final-layer check and the layer summary
    (or the callout when the chapter cannot run)."""
    if not ch.ready:
        return missing_callout(ch)
    assert ch.run is not None and ch.summary is not None and ch.final is not None
    n_units = int(ch.summary["units"].sum())
    source = settings["dissection.probe.source"]
    return (
        f"The probe set has {len(ch.run.probe)} images (`{source}`), the concept set {len(ch.run.concepts)} "
        f"concepts (`{settings['dissection.concepts']}`), and CLIP is `{ch.run.clip}`. @tbl-dissection-final checks "
        "the method on the output layers, where the true label of every unit is known; @tbl-dissection-layers "
        f"summarises the {n_units} hidden units labelled per model.\n\n"
        + markdown.table(ch.final, final_layer_caption(source, ch.run.results), "tbl-dissection-final")
        + "\n"
        + null_markdown(ch)
        + markdown.table(
            ch.summary,
            "Per model and layer: number of units, distinct labels, mean similarity, and "
            "the most common labels (with their unit counts).",
            "tbl-dissection-layers",
        )
    )


def null_markdown(ch: Chapter) -> str:
    """The random-network baseline: per model and layer, the share of units whose label beats what a random
    unit gets (above the random ResNet-18's 95th percentile of best similarities)."""
    assert ch.null is not None
    share = ch.null["units above it"]
    return (
        "A label means something only if a unit of a *random* network could not get it as easily. We dissect a "
        "ResNet-18 with random weights with the same CLIP, probe set and concepts; its units' best similarities "
        "are the null distribution. @tbl-dissection-null gives, per layer, the share of trained units above its "
        f"95th percentile (from {share.min():.0%} to {share.max():.0%} here); the `beats_random` column of the "
        "per-unit tables and CSVs marks the others, whose label is indistinguishable from a random unit's.\n\n"
        + markdown.table(
            ch.null,
            "Random-network baseline: per trained model and layer, the 95th percentile of "
            "the random ResNet-18's best similarities in that layer, and the share of units above it.",
            "tbl-dissection-null",
        )
        + "\n"
    )


def top_units_markdown(ch: Chapter, report) -> str:
    """Per model: its best-labelled units (table) and the top probe images of selected units (figure)."""
    if not ch.ready:
        return ""
    top = report.settings["dissection.top_images"]
    parts = []
    for k, t in ch.tables.items():
        parts.append(
            markdown.table(
                top_units(t, 8),
                f"The eight units of {MODEL_LABELS[k]} with the highest similarity to their label. "
                f"All units are in `{ch.csvs[k].relative_to(report.project_dir)}` (columns layer, unit, description, "
                "similarity, category).",
                f"tbl-dissection-top-{k}",
            )
            + "\n"
            + report.data_links(ch.csvs[k])
            + "\n"
            + interactive(
                t, f"units-{k}", f"All {len(t)} units of {MODEL_LABELS[k]} (sort by a column, filter by any text):"
            )
        )
    for k, png in ch.unit_pngs.items():
        label = MODEL_LABELS[k]
        parts.append(
            markdown.figure(
                report,
                png,
                f"{label}: the {top} most activating probe images (columns) of selected units (rows: layer, "
                "unit, label and similarity; half the units with the highest similarity, half drawn at random).",
                f"fig-dissection-units-{k}",
                f"Rows of small probe images, one row per unit of {label}, labelled with the unit's concept.",
            )
        )
    return "\n".join(parts)


def scene_verdict(counts: pd.DataFrame) -> str:
    """Scene-like and object-like units per model over all layers, and whether the Places365 model has more
    scene-like units than the ImageNet model."""
    sc = counts.groupby("model")[["scene", "object"]].sum()
    total = counts.groupby("model")[list(CATEGORIES)].sum().sum(axis=1)
    lines = [
        f"{m}: {int(sc.loc[m, 'scene'])} scene-like and {int(sc.loc[m, 'object'])} object-like units of {int(total[m])}"
        for m in sc.index
    ]
    places = MODEL_LABELS["places365"]
    more = places in sc.index and sc["scene"].idxmax() == places
    verdict = (
        "The Places365 model has more scene-like units than the ImageNet model, as its training task suggests."
        if more
        else "The Places365 model does *not* have more scene-like units than the ImageNet model here."
    )
    return "Over the three layers: " + "; ".join(lines) + ". " + verdict


def categories_markdown(ch: Chapter, report) -> str:
    """The 'what kind of concepts' section: method, figure, side-by-side table and the verdict."""
    if not ch.ready:
        return ""
    assert ch.counts is not None and ch.category_png is not None
    return (
        "Each label is put in a coarse category by fixed word lists (basic colour terms; the 47 texture names of the "
        "Describable Textures Dataset; words of the Places365 scene names; words of the ImageNet class names; "
        "everything else is *other*). @fig-dissection-categories shows the mix per layer and "
        "@tbl-dissection-scene-object compares the two models.\n\n"
        + markdown.figure(
            report,
            ch.category_png,
            "Fraction of units per concept category, per layer, for each model.",
            "fig-dissection-categories",
            "Stacked horizontal bars of concept categories per layer.",
        )
        + "\n"
        + markdown.table(
            scene_vs_object(ch.counts),
            "Scene-like and object-like units per layer, side by side for the two models.",
            "tbl-dissection-scene-object",
            digits=0,
        )
        + "\n"
        + scene_verdict(ch.counts)
        + "\n"
    )


def label_warning(ready: bool) -> str:
    """The warning callout; it refers to the final-layer table only where the render has one."""
    check = (
        "the final-layer check in @tbl-dissection-final" if ready else "a final-layer check (when this chapter runs)"
    )
    return markdown.callout(
        "warning",
        "A label is the best word in the list, not what the unit computes",
        "Every unit gets a label, however weak its best match: a label is only as trustworthy as its similarity "
        f"and as {check}. Units that respond to several unrelated things (polysemantic units) get one of them. "
        "Check the top images before trusting a label.",
    )
