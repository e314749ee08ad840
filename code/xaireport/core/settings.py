"""The report's settings: the ``xaireport:`` key of ``_quarto.yml``, merged with the active Quarto profiles.

Quarto merges ``_quarto-<profile>.yml`` over ``_quarto.yml`` for its own keys; this module does the same for
the ``xaireport:`` key so that the kernel (during ``quarto render``) and the CLI (``--profile``) see the same
settings. Mappings merge key by key; scalars and lists are replaced by the profile's value. With several
profiles (``QUARTO_PROFILE=a,b``) the first listed wins, as in Quarto.

Every key is checked against :data:`DEFAULTS`: an unknown or mistyped key, or a value of the wrong type, is a
:class:`~xaireport.core.errors.UserError` naming the key and the file it came from.
"""

from __future__ import annotations

import copy
import difflib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from xaireport.core.errors import UserError

#: Every setting with its default. ``None`` means "not set"; :data:`_NULLABLE` gives the type when it is set.
DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "device": "auto",
    "banner": None,
    "images": {"folder": "data/images", "limit": None, "max_megapixels": 64},
    "paths": {"results": "data/results", "cache": "data/cache", "figures": "figures"},
    "classifier": {"model": "resnet50", "weights": None, "classes": None, "target_layer": None},
    "cams": {
        "methods": ["gradcam", "ablationcam", "scorecam"],
        "batch_size": 4,
        "ablation_batch_size": 256,
        "remove_fraction": 0.2,
        "road_percentiles": [10, 20, 30, 40, 50, 60, 70, 80, 90],
    },
    "lime": {
        "num_samples": 1000,
        "num_features": 5,
        "batch_size": 8,
        "stability_seeds": 5,
    },
    "comparison": {
        "gradcam_threshold": 0.5,
        "area_fractions": [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5],
    },
    "sanity": {
        "images": None,
        "methods": ["gradcam", "ablationcam", "scorecam", "lime"],
        "lime_num_samples": 300,
        "threshold": 0.2,
        "within_blocks": 2,
    },
    "dissection": {
        "enabled": True,
        "download": True,
        "models": {
            "imagenet": {"model": "resnet18", "weights": None},
            "places365": {"model": "resnet18-places365", "weights": None, "categories": None},
        },
        "layers": ["layer2", "layer3", "layer4"],
        "random_weights": False,
        "clip": {"arch": "ViT-B-16", "pretrained": "openai", "weights": None},
        "probe": {"source": "places365-val", "root": None, "size": 10000},
        "concepts": "20k",
        "similarity": "soft_wpmi",
        "batch_size": 64,
        "num_workers": 2,
        "top_images": 5,
        "units_shown": 8,
        "final_layer_units": None,
        "autocast": False,
    },
}

_NULLABLE: dict[str, tuple[type, ...]] = {
    "banner": (str,),
    "images.limit": (int,),
    "sanity.images": (int,),
    "classifier.weights": (str,),
    "classifier.classes": (str,),
    "classifier.target_layer": (str,),
    "dissection.models.imagenet.weights": (str,),
    "dissection.models.places365.weights": (str,),
    "dissection.models.places365.categories": (str,),
    "dissection.final_layer_units": (int,),
    "dissection.clip.weights": (str,),
    "dissection.probe.root": (str,),
    "dissection.probe.size": (int,),
}


#: Valid ranges: dotted key → (check, description). Lists are checked item by item, and must not be empty.
def _at_least(low: float):
    return (lambda v: v >= low), f"≥ {low:g}"


def _between(low: float, high: float, open_low: bool = False):
    return (
        (lambda v: low < v <= high) if open_low else (lambda v: low <= v <= high)
    ), f"in {'(' if open_low else '['}{low:g}, {high:g}]"


def _registered(module: str, registry: str):
    """A check against a registry of a higher layer (model names, CAM methods), read when a value is checked so
    that this module imports nothing above ``core``."""
    import importlib

    def names() -> list[str]:
        return list(getattr(importlib.import_module(module), registry))

    class _Described:
        def __str__(self) -> str:
            return f"one of {', '.join(names())}"

    return (lambda v: v in names()), _Described()


def _registered_or(*extra: str):
    """Like :func:`_registered` for the CAM methods, plus ``extra`` names (LIME)."""
    check, _ = _registered("xaireport.methods.cams", "METHODS")

    class _Described:
        def __str__(self) -> str:
            import importlib

            names = list(importlib.import_module("xaireport.methods.cams").METHODS) + list(extra)
            return f"one of {', '.join(names)}"

    return (lambda v: v in extra or check(v)), _Described()


def _model_name():
    """A registered model name or ``timm:<name>`` / ``torchvision:<name>`` (checked by the models registry,
    imported only when a value is checked)."""
    import importlib

    class _Described:
        def __str__(self) -> str:
            names = importlib.import_module("xaireport.models").model_names()
            return f"one of {', '.join(names)}, or timm:<name> / torchvision:<name> (see `xaireport models`)"

    return (lambda v: importlib.import_module("xaireport.models").is_model_name(v)), _Described()


def _one_of(*choices: str):
    return (lambda v: v in choices), f"one of {', '.join(choices)}"


RANGES: dict[str, tuple[Any, Any]] = {
    "seed": _at_least(0),
    "images.limit": _at_least(1),
    "images.max_megapixels": ((lambda v: v > 0), "> 0"),
    "classifier.model": _model_name(),
    "cams.methods": _registered("xaireport.methods.cams", "METHODS"),
    "cams.batch_size": _at_least(1),
    "cams.ablation_batch_size": _at_least(1),
    "cams.remove_fraction": _between(0, 1, open_low=True),
    "cams.road_percentiles": ((lambda v: 0 < v < 100), "in (0, 100)"),
    "lime.num_samples": _at_least(2),
    "lime.num_features": _at_least(1),
    "lime.batch_size": _at_least(1),
    "lime.stability_seeds": _at_least(1),
    "sanity.images": _at_least(1),
    "sanity.methods": _registered_or("lime"),
    "sanity.lime_num_samples": _at_least(2),
    "sanity.threshold": _between(0, 1),
    "sanity.within_blocks": _at_least(1),
    "comparison.gradcam_threshold": _between(0, 1),
    "comparison.area_fractions": _between(0, 1, open_low=True),
    "dissection.layers": ((lambda v: bool(v.strip())), "a layer name"),
    "dissection.probe.source": _one_of("places365-val", "imagenet-val", "folder", "broden", "generated"),
    "dissection.probe.size": _at_least(1),
    "dissection.similarity": _one_of("soft_wpmi", "wpmi", "cos_similarity_cubed", "cos_similarity"),
    "dissection.batch_size": _at_least(1),
    "dissection.num_workers": _at_least(0),
    "dissection.top_images": _at_least(1),
    "dissection.units_shown": _at_least(1),
    "dissection.final_layer_units": _at_least(1),
    "dissection.models.imagenet.model": _model_name(),
    "dissection.models.places365.model": _model_name(),
}


def find_project_dir(start: str | os.PathLike | None = None) -> Path:
    """The Quarto project folder: ``$QUARTO_PROJECT_DIR``, else the nearest folder upwards with ``_quarto.yml``."""
    env = os.environ.get("QUARTO_PROJECT_DIR")
    if env and start is None:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / "_quarto.yml").is_file():
            return folder
    raise UserError(f"no _quarto.yml found in {here} or any parent folder: run from the report's folder")


def active_profiles(project_dir: Path, profile: str | None = None) -> list[str]:
    """Profiles in force: the argument, else ``$QUARTO_PROFILE``, else ``profile.default`` of ``_quarto.yml``."""
    spec = profile if profile is not None else os.environ.get("QUARTO_PROFILE", "")
    if not spec:
        base = _read_yaml(project_dir / "_quarto.yml")
        default = (base.get("profile") or {}).get("default") if isinstance(base.get("profile"), dict) else None
        spec = ",".join(default) if isinstance(default, list) else (default or "")
    return [p.strip() for p in spec.split(",") if p.strip()]


# --- Typed sections: built once from the validated values, so ``settings.lime.num_samples`` is an ``int``. ---


@dataclass(frozen=True)
class ImagesSettings:
    folder: str
    limit: int | None
    max_megapixels: float


@dataclass(frozen=True)
class PathsSettings:
    results: str
    cache: str
    figures: str


@dataclass(frozen=True)
class ClassifierSettings:
    model: str
    weights: str | None
    classes: str | None
    target_layer: str | None


@dataclass(frozen=True)
class CamsSettings:
    methods: list[str]
    batch_size: int
    ablation_batch_size: int
    remove_fraction: float
    road_percentiles: list[int]


@dataclass(frozen=True)
class LimeSettings:
    num_samples: int
    num_features: int
    batch_size: int
    stability_seeds: int


@dataclass(frozen=True)
class ComparisonSettings:
    gradcam_threshold: float
    area_fractions: list[float]


@dataclass(frozen=True)
class DissectionModelSettings:
    model: str
    weights: str | None
    categories: str | None = None


@dataclass(frozen=True)
class ClipSettings:
    arch: str
    pretrained: str
    weights: str | None


@dataclass(frozen=True)
class ProbeSettings:
    source: str
    root: str | None
    size: int | None


@dataclass(frozen=True)
class DissectionSettings:
    enabled: bool
    download: bool
    models: dict[str, DissectionModelSettings]
    layers: list[str]
    random_weights: bool
    clip: ClipSettings
    probe: ProbeSettings
    concepts: str
    similarity: str
    batch_size: int
    num_workers: int
    top_images: int
    units_shown: int
    final_layer_units: int | None
    autocast: bool

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DissectionSettings:
        return cls(
            **{
                **d,
                "models": {k: DissectionModelSettings(**v) for k, v in d["models"].items()},
                "clip": ClipSettings(**d["clip"]),
                "probe": ProbeSettings(**d["probe"]),
            }
        )


@dataclass(frozen=True)
class SanitySettings:
    images: int | None
    methods: list[str]
    lime_num_samples: int
    threshold: float
    within_blocks: int


#: Section name → its dataclass (a test keeps them in step with :data:`DEFAULTS`).
SECTIONS: dict[str, type] = {
    "images": ImagesSettings,
    "paths": PathsSettings,
    "classifier": ClassifierSettings,
    "cams": CamsSettings,
    "lime": LimeSettings,
    "comparison": ComparisonSettings,
    "sanity": SanitySettings,
    "dissection": DissectionSettings,
}


@dataclass(frozen=True)
class Settings:
    """Merged, validated settings of one project and profile set."""

    values: dict[str, Any]
    project_dir: Path
    profiles: tuple[str, ...] = field(default_factory=tuple)

    def __getitem__(self, dotted: str) -> Any:
        node: Any = self.values
        for part in dotted.split("."):
            node = node[part]
        return copy.deepcopy(node)

    def path(self, dotted: str) -> Path | None:
        """A path setting resolved against the project folder (``None`` stays ``None``)."""
        value = self[dotted]
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.project_dir / p

    def required_path(self, dotted: str) -> Path:
        """:meth:`path` for a setting that cannot be empty."""
        p = self.path(dotted)
        if p is None:
            raise UserError(f"xaireport.{dotted} may not be empty")
        return p

    @property
    def profile_name(self) -> str:
        return ",".join(self.profiles) or "default"

    # Typed access (validated values; each section built once).
    @property
    def seed(self) -> int:
        return int(self.values["seed"])

    @property
    def device(self) -> str:
        return str(self.values["device"])

    @cached_property
    def images(self) -> ImagesSettings:
        return ImagesSettings(**self.values["images"])

    @cached_property
    def paths(self) -> PathsSettings:
        return PathsSettings(**self.values["paths"])

    @cached_property
    def classifier(self) -> ClassifierSettings:
        return ClassifierSettings(**self.values["classifier"])

    @cached_property
    def cams(self) -> CamsSettings:
        return CamsSettings(**copy.deepcopy(self.values["cams"]))

    @cached_property
    def lime(self) -> LimeSettings:
        return LimeSettings(**self.values["lime"])

    @cached_property
    def comparison(self) -> ComparisonSettings:
        return ComparisonSettings(**copy.deepcopy(self.values["comparison"]))

    @cached_property
    def sanity(self) -> SanitySettings:
        return SanitySettings(**copy.deepcopy(self.values["sanity"]))

    @cached_property
    def dissection(self) -> DissectionSettings:
        return DissectionSettings.from_dict(copy.deepcopy(self.values["dissection"]))


def load(
    profile: str | None = None, project_dir: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Read ``_quarto.yml`` and the active profiles' files and return the merged settings.

    Args:
        profile: comma-separated profile names; ``None`` reads ``$QUARTO_PROFILE`` (as during ``quarto render``).
        project_dir: the project folder; ``None`` uses ``$QUARTO_PROJECT_DIR`` or searches upwards from cwd.
        overrides: dotted keys to set last (the CLI's ``--device`` and the like), validated like the files.

    ``$XAIREPORT_OVERRIDES``, a JSON object of dotted keys (``{"paths.cache": "/tmp/c"}``), is applied after the
    files and before ``overrides``: how a render is pointed at another cache or device without editing a file
    (``benchmarks/bench_render.py`` uses it for its cold renders).
    """
    root = Path(project_dir).resolve() if project_dir else find_project_dir()
    profiles = active_profiles(root, profile)
    merged = copy.deepcopy(DEFAULTS)
    sources = [root / "_quarto.yml"] + [root / f"_quarto-{p}.yml" for p in reversed(profiles)]
    for src in sources:
        if not src.is_file():
            if src.name == "_quarto.yml":
                raise UserError(f"{src}: file not found")
            raise UserError(
                f"{src}: profile {src.stem.removeprefix('_quarto-')!r} has no such file; "
                f"known profiles: {', '.join(_known_profiles(root)) or 'none'}"
            )
        section = _read_yaml(src).get("xaireport")
        if section is None:
            continue
        _merge_checked(merged, section, DEFAULTS, prefix="", source=src)
    for dotted, value in _environment_overrides().items():
        _merge_checked(merged, _nest(dotted, value), DEFAULTS, prefix="", source=Path("$XAIREPORT_OVERRIDES"))
    for dotted, value in (overrides or {}).items():
        _merge_checked(merged, _nest(dotted, value), DEFAULTS, prefix="", source=Path("command line"))
    return Settings(values=merged, project_dir=root, profiles=tuple(profiles))


def _environment_overrides() -> dict[str, Any]:
    import json

    text = os.environ.get("XAIREPORT_OVERRIDES", "").strip()
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"$XAIREPORT_OVERRIDES is not JSON ({exc.msg}): give an object of dotted keys") from None
    if not isinstance(data, dict):
        raise UserError('$XAIREPORT_OVERRIDES must be a JSON object, e.g. {"paths.cache": "/tmp/cache"}')
    return data


def _known_profiles(root: Path) -> list[str]:
    return sorted(p.stem.removeprefix("_quarto-") for p in root.glob("_quarto-*.yml"))


def _nest(dotted: str, value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(dotted.split(".")):
        out = {part: out}
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}: not valid YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    return data


def _merge_checked(target: dict, update: Any, schema: dict, prefix: str, source: Path) -> None:
    where = f"xaireport.{prefix}".rstrip(".")
    if not isinstance(update, dict):
        raise UserError(f"{source}: {where} must be a mapping of settings, got {update!r}")
    for key, value in update.items():
        dotted = f"{prefix}{key}"
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else f"; known keys: {', '.join(schema)}"
            raise UserError(f"{source}: unknown setting xaireport.{dotted}{hint}")
        default = schema[key]
        if isinstance(default, dict):
            _merge_checked(target[key], value, default, prefix=f"{dotted}.", source=source)
            continue
        _check_type(dotted, value, default, source)
        _check_range(dotted, value, source)
        target[key] = copy.deepcopy(value)


def _check_range(dotted: str, value: Any, source: Path) -> None:
    if value is None or dotted not in RANGES:
        return
    ok, valid = RANGES[dotted]
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        raise UserError(f"{source}: xaireport.{dotted} may not be an empty list: each item must be {valid}")
    bad = [v for v in items if not ok(v)]
    if bad:
        what = "each item" if isinstance(value, list) else "it"
        raise UserError(f"{source}: xaireport.{dotted} = {bad[0]!r} is out of range: {what} must be {valid}")


def _check_type(dotted: str, value: Any, default: Any, source: Path) -> None:
    if value is None:
        if default is None or dotted in _NULLABLE:
            return
        raise UserError(f"{source}: xaireport.{dotted} may not be empty (default: {default!r})")
    allowed: tuple[type, ...]
    if default is None:
        allowed = _NULLABLE.get(dotted, (str,))
    elif isinstance(default, bool):
        allowed = (bool,)
    elif isinstance(default, float):
        allowed = (int, float)
    elif isinstance(default, int):
        allowed = (int,)
    else:
        allowed = (type(default),)
    if isinstance(value, bool) and bool not in allowed:
        ok = False
    else:
        ok = isinstance(value, allowed)
    if ok and isinstance(default, list) and default:
        item_types = (int, float) if isinstance(default[0], (int, float)) else (type(default[0]),)
        ok = all(isinstance(v, item_types) and not isinstance(v, bool) for v in value)
    if not ok:
        names = " or ".join(t.__name__ for t in allowed)
        raise UserError(
            f"{source}: xaireport.{dotted} must be {names}"
            f"{' of ' + type(default[0]).__name__ if isinstance(default, list) and default else ''},"
            f" got {value!r}"
        )
