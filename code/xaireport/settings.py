"""The report's settings: the ``xaireport:`` key of ``_quarto.yml``, merged with the active Quarto profiles, as one
typed schema (:class:`Settings`, a tree of frozen dataclasses).

Each field is declared once, with its type (``int | None`` where it may be empty), its default and its valid
range (:func:`setting`); the loader checks every value against that declaration, and code reads the result
through typed attributes (``settings.lime.num_samples``), which mypy checks.

Quarto merges ``_quarto-<profile>.yml`` over ``_quarto.yml`` for its own keys; this module does the same for the
``xaireport:`` key so that the kernel (during ``quarto render``) and the CLI (``--profile``) see the same
settings. Mappings merge key by key; scalars and lists are replaced by the profile's value. With several profiles
(``QUARTO_PROFILE=a,b``) the first listed wins, as in Quarto. ``$XAIREPORT_OVERRIDES`` (a JSON object of dotted
keys) and the CLI's options come last.

An unknown or mistyped key, a value of the wrong type or out of its range is a
:class:`~xaireport.core.errors.UserError` naming the key and the file it came from. Range checks run after every
source is merged and the ``plugins`` are imported, so a plugin's method can be named in the same file.

A plug-in adds its own typed settings with :func:`register_section`: a frozen dataclass declared like the sections
below becomes ``xaireport.<name>``, merged, type- and range-checked like the rest and read with
``settings.value("<name>.<key>")`` (a :class:`~xaireport.methods.registry.Method`'s ``params`` can name it). The
``plugins`` list is read from every source first and its modules imported before anything else is merged, so the
same file can set the plug-in's section and name its methods.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from xaireport.core.errors import UserError

# --- How a field is declared --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A range check: ``ok(value)`` and what a valid value is, in words (a callable for lists read late)."""

    ok: Callable[[Any], bool]
    valid: str | Callable[[], str]

    def describe(self) -> str:
        return self.valid if isinstance(self.valid, str) else self.valid()


def setting(default: Any, check: Check | None = None) -> Any:
    """A settings field: its default (a list is copied for each instance) and its range check (``None``: any
    value of the field's type)."""
    meta = {"check": check}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def _number(x: float) -> str:
    """``4294967295`` rather than ``4.29497e+09`` for whole numbers, ``0.5`` otherwise."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def at_least(low: float) -> Check:
    return Check(lambda v: v >= low, f"≥ {_number(low)}")


def between(low: float, high: float, open_low: bool = False) -> Check:
    return Check(
        (lambda v: low < v <= high) if open_low else (lambda v: low <= v <= high),
        f"in {'(' if open_low else '['}{_number(low)}, {_number(high)}]",
    )


def one_of(*choices: str) -> Check:
    return Check(lambda v: v in choices, f"one of {', '.join(choices)}")


def _model_name() -> Check:
    def ok(v: str) -> bool:
        from xaireport.models import is_model_name

        return is_model_name(v)

    def valid() -> str:
        from xaireport.models import model_names

        return f"one of {', '.join(model_names())}, or timm:<name> / torchvision:<name> (see `xaireport models`)"

    return Check(ok, valid)


def _method(family: str | None = None) -> Check:
    """A registered explanation method (of ``family``), read when a value is checked (plugins are imported by
    then)."""
    from xaireport.methods import registry

    return Check(
        lambda v: v in registry.names(family),
        lambda: f"one of {', '.join(registry.names(family))} (`xaireport methods` lists them)",
    )


SEED_MAX = 2**32 - 1  # numpy's and lime's seeds are 32-bit
#: LIME's largest sample count: lime holds a samples × superpixels matrix and a samples × classes matrix of
#: probabilities (100,000 × 1,000 classes × 8 bytes = 0.8 GB); more would exhaust a laptop's memory before the
#: first sample is classified.
LIME_MAX_SAMPLES = 100_000


# --- The schema -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImagesSettings:
    folder: str = setting("data/images")
    limit: int | None = setting(None, at_least(1))
    max_megapixels: float = setting(64, Check(lambda v: v > 0, "> 0"))


@dataclass(frozen=True)
class PathsSettings:
    results: str = setting("data/results")
    cache: str = setting("data/cache")
    figures: str = setting("figures")


@dataclass(frozen=True)
class ClassifierSettings:
    model: str = setting("resnet50", _model_name())
    weights: str | None = setting(None)
    classes: str | None = setting(None)
    target_layer: str | None = setting(None)


@dataclass(frozen=True)
class CamsSettings:
    methods: list[str] = setting(["gradcam", "ablationcam", "scorecam"], _method("CAM"))
    batch_size: int = setting(4, at_least(1))
    ablation_batch_size: int = setting(256, at_least(1))
    remove_fraction: float = setting(0.2, between(0, 1, open_low=True))
    road_percentiles: list[int] = setting(
        [10, 20, 30, 40, 50, 60, 70, 80, 90], Check(lambda v: 0 < v < 100, "in (0, 100)")
    )


@dataclass(frozen=True)
class LimeSettings:
    num_samples: int = setting(1000, between(2, LIME_MAX_SAMPLES))
    num_features: int = setting(5, at_least(1))
    batch_size: int = setting(8, at_least(1))
    stability_seeds: int = setting(5, at_least(1))


@dataclass(frozen=True)
class AttributionSettings:
    """Captum's methods (:mod:`xaireport.methods.attributions`)."""

    baseline: str = setting("black", one_of("black", "mean"))
    ig_steps: int = setting(50, between(1, 1000))
    shap_samples: int = setting(20, between(1, 1000))
    shap_stdev: float = setting(0.1, at_least(0))
    occlusion_window: int = setting(32, at_least(1))
    occlusion_stride: int = setting(16, at_least(1))
    batch_size: int = setting(16, at_least(1))


@dataclass(frozen=True)
class ComparisonSettings:
    gradcam_threshold: float = setting(0.5, between(0, 1))
    area_fractions: list[float] = setting(
        [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5], between(0, 1, open_low=True)
    )


@dataclass(frozen=True)
class SanitySettings:
    """Chapter 5 (:mod:`xaireport.results.sanity`): model-parameter randomization."""

    images: int | None = setting(None, at_least(1))  # the first N images (null: all)
    methods: list[str] = setting(["gradcam", "ablationcam", "scorecam", "lime", "guided_backprop"], _method())
    lime_num_samples: int = setting(300, between(2, LIME_MAX_SAMPLES))
    # The verdict: the cascade step at which the top `within_blocks` blocks are random, decided on every image and
    # seed against the null of unrelated maps (`reference: other-images`: the same randomized model's maps of the
    # other images) with the margin `margin` (Fisher z), or against a fixed rank correlation (`reference: fixed`:
    # `threshold`).
    within_blocks: int = setting(2, at_least(1))
    reference: str = setting("other-images", one_of("other-images", "fixed"))
    margin: float = setting(0.05, between(0, 2))
    threshold: float = setting(0.2, between(0, 1))
    seeds: int = setting(3, between(1, 100))  # randomization seeds of the cascade (seed, seed + 1, ...)
    controls: bool = setting(True)  # the two controls with known verdicts (Sobel edges must fail, noise must pass)
    cascade_images: int = setting(1, between(0, 10_000))  # images run through every cascade step (first seed)
    independent: bool = setting(False)  # also randomize each block alone (on the cascade images, first seed)


@dataclass(frozen=True)
class EvaluationSettings:
    """Chapter 6 (:mod:`xaireport.results.evaluation`)."""

    methods: list[str] | None = setting(None, _method())  # null: every registered method (plug-ins included)
    images: int | None = setting(None, at_least(1))  # the first N images (null: all)
    deletion_steps: int = setting(32, between(2, 1000))
    sensitivity_samples: int = setting(3, between(1, 200))
    # max-sensitivity's noise: uniform within ± this, in the model's normalised input units (Quantus: 0.2)
    sensitivity_radius: float = setting(0.1, between(0, 5, open_low=True))


@dataclass(frozen=True)
class DisplaySettings:
    """How the figures draw a map (:func:`xaireport.methods.display.displayed`)."""

    #: Gradient and perturbation maps: the largest values holding this percentage of a map's total positive
    #: attribution saturate the colour scale (Captum's ``visualize_image_attr``, ``outlier_perc``); 0 scales the
    #: map to its maximum.
    outlier_percent: float = setting(2, Check(lambda v: 0 <= v < 50, "in [0, 50)"))


@dataclass(frozen=True)
class DissectionModelSettings:
    model: str = setting("resnet18", _model_name())
    weights: str | None = setting(None)
    categories: str | None = setting(None)  # a class-name file (Places365: categories_places365.txt)


@dataclass(frozen=True)
class DissectionModels:
    imagenet: DissectionModelSettings = field(default_factory=DissectionModelSettings)
    places365: DissectionModelSettings = field(
        default_factory=lambda: DissectionModelSettings(model="resnet18-places365")
    )

    def items(self) -> Iterator[tuple[str, DissectionModelSettings]]:
        return iter((("imagenet", self.imagenet), ("places365", self.places365)))


@dataclass(frozen=True)
class ClipSettings:
    arch: str = setting("ViT-B-16")
    pretrained: str = setting("openai")
    weights: str | None = setting(None)


@dataclass(frozen=True)
class ProbeSettings:
    source: str = setting("places365-val", one_of("places365-val", "imagenet-val", "folder", "broden", "generated"))
    root: str | None = setting(None)
    size: int | None = setting(10000, at_least(1))


@dataclass(frozen=True)
class DissectionSettings:
    enabled: bool = setting(True)
    download: bool = setting(True)
    models: DissectionModels = field(default_factory=DissectionModels)
    layers: list[str] = setting(["layer2", "layer3", "layer4"], Check(lambda v: bool(v.strip()), "a layer name"))
    random_weights: bool = setting(False)
    clip: ClipSettings = field(default_factory=ClipSettings)
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    concepts: str = setting("20k")
    similarity: str = setting("soft_wpmi", one_of("soft_wpmi", "wpmi", "cos_similarity_cubed", "cos_similarity"))
    batch_size: int = setting(64, at_least(1))
    num_workers: int = setting(2, at_least(0))
    top_images: int = setting(5, at_least(1))
    units_shown: int = setting(8, at_least(1))
    final_layer_units: int | None = setting(None, at_least(1))
    autocast: bool = setting(False)


@dataclass(frozen=True)
class Settings:
    """Merged, validated settings of one project and profile set (the fields after ``dissection`` are not
    settings: where they came from)."""

    seed: int = setting(0, between(0, SEED_MAX))
    device: str = setting("auto")
    banner: str | None = setting(None)
    plugins: list[str] = setting([])
    images: ImagesSettings = field(default_factory=ImagesSettings)
    paths: PathsSettings = field(default_factory=PathsSettings)
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)
    cams: CamsSettings = field(default_factory=CamsSettings)
    lime: LimeSettings = field(default_factory=LimeSettings)
    attributions: AttributionSettings = field(default_factory=AttributionSettings)
    comparison: ComparisonSettings = field(default_factory=ComparisonSettings)
    sanity: SanitySettings = field(default_factory=SanitySettings)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    dissection: DissectionSettings = field(default_factory=DissectionSettings)
    #: The plug-ins' sections (:func:`register_section`): name → that section's dataclass instance.
    extensions: dict[str, Any] = field(default_factory=dict, metadata={"schema": False})
    project_dir: Path = field(default=Path("."), metadata={"schema": False}, compare=True)
    profiles: tuple[str, ...] = field(default=(), metadata={"schema": False})

    @property
    def profile_name(self) -> str:
        return ",".join(self.profiles) or "default"

    def value(self, dotted: str) -> Any:
        """One setting by its dotted key (for code that names settings as data: a method's parameters, settings
        tables); everything else reads the typed attributes."""
        node: Any = self
        for part in dotted.split("."):
            if not dataclasses.is_dataclass(node) or part not in _fields(type(node)):
                raise KeyError(f"no setting xaireport.{dotted}")
            node = _get(node, part)
        return node

    def path(self, value: str | os.PathLike | None) -> Path | None:
        """A path setting's value resolved against the project folder (``None`` stays ``None``)."""
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.project_dir / p

    def folder(self, value: str | os.PathLike) -> Path:
        """:meth:`path` for a setting that cannot be empty."""
        p = self.path(value)
        assert p is not None
        return p

    def as_dict(self, section: str | None = None) -> dict[str, Any]:
        """The settings (or one section) as nested plain values."""
        return _to_dict(self.value(section) if section else self)


# --- Plug-ins' sections -----------------------------------------------------------------------------------------

#: Top-level sections added by plug-ins (:func:`register_section`): name → its frozen dataclass.
SECTIONS: dict[str, type] = {}


def register_section(name: str, section: type) -> type:
    """Add the settings section ``xaireport.<name>``, declared as a frozen dataclass whose fields use
    :func:`setting` (type, default, range), exactly as the built-in sections are. Call it from a module named in
    the ``plugins`` setting; its keys are then merged from ``_quarto.yml``, the profiles, ``$XAIREPORT_OVERRIDES``
    and the CLI, checked like the rest, and read with ``settings.value("<name>.<key>")``. Registering a name again
    replaces it (a re-imported module). Returns ``section`` (so it can decorate the class)::

        @dataclass(frozen=True)
        class MyCamSettings:
            alpha: float = setting(0.5, between(0, 1))

        register_section("mycam", MyCamSettings)

    Raises:
        ValueError: ``name`` is a built-in setting or not an identifier, or ``section`` is not a dataclass whose
            fields all have a default of a supported type.
    """
    if not name.isidentifier() or name in _schema_fields(Settings):
        raise ValueError(f"settings section {name!r}: not an identifier, or a built-in setting's name")
    if not _is_section(section):
        raise ValueError(f"settings section {name!r}: {section!r} is not a dataclass")
    for key, (tp, _check) in _schema_fields(section).items():
        if not _is_section(tp):
            _type_name(tp)
            try:
                _is(None, _optional(tp)[0])
            except TypeError:
                raise ValueError(f"settings section {name!r}: {key} has an unsupported type {tp!r}") from None
    try:
        section()
    except TypeError as exc:
        raise ValueError(f"settings section {name!r}: every field needs a default ({exc})") from None
    SECTIONS[name] = section
    return section


# --- Reading the schema ---------------------------------------------------------------------------------------


@cache
def _schema_fields(cls: type) -> dict[str, tuple[Any, Check | None]]:
    """A dataclass's settings fields: name → (resolved type, check)."""
    hints = typing.get_type_hints(cls)
    return {
        f.name: (hints[f.name], f.metadata.get("check"))
        for f in dataclasses.fields(cls)
        if f.metadata.get("schema", True)
    }


def _fields(cls: type) -> dict[str, tuple[Any, Check | None]]:
    """:func:`_schema_fields`, and for :class:`Settings` the plug-ins' sections too (:data:`SECTIONS`)."""
    fields = _schema_fields(cls)
    if cls is Settings and SECTIONS:
        return {**fields, **{name: (section, None) for name, section in SECTIONS.items()}}
    return fields


def _get(node: Any, name: str) -> Any:
    """A field of a settings node; a plug-in's section of :class:`Settings` (its defaults when not loaded)."""
    if isinstance(node, Settings) and name not in _schema_fields(Settings):
        return node.extensions[name] if name in node.extensions else SECTIONS[name]()
    return getattr(node, name)


def _to_dict(node: Any) -> Any:
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return {name: _to_dict(_get(node, name)) for name in _fields(type(node))}
    return list(node) if isinstance(node, list) else node


def _build(cls: type, values: dict[str, Any]) -> Any:
    kwargs = {}
    for name, (tp, _) in _fields(cls).items():
        v = values[name]
        kwargs[name] = _build(tp, v) if _is_section(tp) else v
    if cls is Settings:
        kwargs["extensions"] = {name: kwargs.pop(name) for name in SECTIONS}
    return cls(**kwargs)


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _optional(tp: Any) -> tuple[Any, bool]:
    """``(inner type, may be empty)`` of an annotation such as ``int | None``."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], len(args) < len(typing.get_args(tp))
    return tp, False


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return {float: "number", int: "int", str: "str", bool: "bool"}.get(tp, getattr(tp, "__name__", str(tp)))


def _is(value: Any, tp: Any) -> bool:
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if typing.get_origin(tp) is list:
        item = typing.get_args(tp)[0]
        return isinstance(value, list) and all(_is(v, item) for v in value)
    raise TypeError(f"unsupported settings type {tp!r}")


# --- Loading ---------------------------------------------------------------------------------------------------


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


def defaults() -> dict[str, Any]:
    """Every setting with its default (the plug-ins' sections included), as nested plain values."""
    return _to_dict(Settings())


def load(
    profile: str | None = None, project_dir: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Read ``_quarto.yml`` and the active profiles' files and return the merged, checked settings.

    Args:
        profile: comma-separated profile names; ``None`` reads ``$QUARTO_PROFILE`` (as during ``quarto render``).
        project_dir: the project folder; ``None`` uses ``$QUARTO_PROJECT_DIR`` or searches upwards from cwd.
        overrides: dotted keys to set last (the CLI's options), checked like the files.

    ``$XAIREPORT_OVERRIDES``, a JSON object of dotted keys (``{"paths.cache": "/tmp/c"}``), is applied after the
    files and before ``overrides``: how a render is pointed at another cache or device without editing a file.
    """
    root = Path(project_dir).resolve() if project_dir else find_project_dir()
    profiles = active_profiles(root, profile)
    layers: list[tuple[str, Any]] = []  # (where it came from, its xaireport mapping), first to last
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
        if section is not None:
            layers.append((str(src), section))
    layers += [("$XAIREPORT_OVERRIDES", _nest(k, v)) for k, v in _environment_overrides().items()]
    layers += [("command line", _nest(k, v)) for k, v in (overrides or {}).items()]
    load_plugins(plugin_modules(layers))  # first: they may add methods, models and settings sections
    merged = defaults()
    origin: dict[str, str] = {}  # dotted key → where its value was set (for range errors)
    for source, layer in layers:
        _merge(merged, layer, Settings, "", source, origin)
    _check_ranges(merged, Settings, "", origin)
    settings: Settings = _build(Settings, merged)
    _check_method_settings(settings)
    return dataclasses.replace(settings, project_dir=root, profiles=tuple(profiles))


def plugin_modules(layers: list[tuple[str, Any]]) -> list[str]:
    """The ``plugins`` setting of ``layers`` (``(source, xaireport mapping)``, first to last; the last one that
    sets it wins), type-checked: read before anything else, since the plug-ins may extend the schema."""
    found: dict[str, Any] = {"plugins": []}
    for source, layer in layers:
        if isinstance(layer, dict) and "plugins" in layer:
            _merge(found, {"plugins": layer["plugins"]}, Settings, "", source, {})
    return found["plugins"]


def read_plugins(profile: str | None = None, project_dir: str | os.PathLike | None = None) -> list[str]:
    """Import the ``plugins`` of a project's settings files (and ``$XAIREPORT_OVERRIDES``) without checking the
    rest (``xaireport methods``: it lists what a settings file may name, so it must work while one is wrong).
    Returns the modules' names."""
    root = Path(project_dir).resolve() if project_dir else find_project_dir()
    layers: list[tuple[str, Any]] = []
    for p in [None, *reversed(active_profiles(root, profile))]:
        src = root / ("_quarto.yml" if p is None else f"_quarto-{p}.yml")
        if src.is_file():
            layers.append((str(src), _read_yaml(src).get("xaireport")))
    layers += [("$XAIREPORT_OVERRIDES", _nest(k, v)) for k, v in _environment_overrides().items()]
    modules = plugin_modules(layers)
    load_plugins(modules)
    return modules


def load_plugins(modules: list[str]) -> None:
    from xaireport.methods import registry

    registry.load_plugins(modules)


def _check_method_settings(settings: Settings) -> None:
    """Every registered method's ``params`` and ``speed`` name a setting (a plug-in's section must be registered)."""
    from xaireport.methods import registry

    for m in registry.METHODS.values():
        for keyword, dotted in {**m.params, **m.speed}.items():
            try:
                settings.value(dotted)
            except KeyError:
                raise UserError(
                    f"method {m.name!r}: its parameter {keyword!r} reads the setting xaireport.{dotted}, which no "
                    "settings section declares: declare it with xaireport.settings.register_section in the "
                    "plug-in module (see CONTRIBUTING.md)"
                ) from None


def _environment_overrides() -> dict[str, Any]:
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


#: The most YAML aliases (``*name``) a settings file may use: aliases share their object, so a small file of
#: nested aliases ("billion laughs") is a huge value to every walk over it (checks, error messages).
MAX_YAML_ALIASES = 100


def _bounded_loader(source: str) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                Loader.aliases += 1
                if Loader.aliases > MAX_YAML_ALIASES:
                    raise UserError(
                        f"{source}: more than {MAX_YAML_ALIASES} YAML aliases (*name): write the settings out"
                    )
            return super().compose_node(parent, index)

    return Loader


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_bounded_loader(str(path))) or {}  # noqa: S506
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a text file (byte {exc.start} is not UTF-8): restore the settings file") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}: not valid YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    return data


def _short(value: Any) -> str:
    """At most 80 characters of ``value``'s repr, built without walking all of a deeply nested value."""
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxdict, r.maxstring, r.maxother = 3, 4, 4, 60, 60
    text = r.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _merge(target: dict, update: Any, cls: type, prefix: str, source: str, origin: dict[str, str]) -> None:
    where = f"xaireport.{prefix}".rstrip(".")
    if not isinstance(update, dict):
        raise UserError(f"{source}: {where} must be a mapping of settings, got {_short(update)}")
    fields = _fields(cls)
    for key, value in update.items():
        dotted = f"{prefix}{key}"
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else f"; known keys: {', '.join(fields)}"
            raise UserError(f"{source}: unknown setting xaireport.{dotted}{hint}")
        tp, _ = fields[key]
        if _is_section(tp):
            _merge(target[key], value, tp, f"{dotted}.", source, origin)
            continue
        inner, nullable = _optional(tp)
        if value is None:
            if not nullable:
                raise UserError(f"{source}: xaireport.{dotted} may not be empty (default: {target[key]!r})")
        elif not _is(value, inner):
            raise UserError(f"{source}: xaireport.{dotted} must be {_type_name(inner)}, got {_short(value)}")
        target[key] = list(value) if isinstance(value, list) else value
        origin[dotted] = source


def _check_ranges(values: dict, cls: type, prefix: str, origin: dict[str, str]) -> None:
    for key, (tp, check) in _fields(cls).items():
        dotted = f"{prefix}{key}"
        value = values[key]
        if _is_section(tp):
            _check_ranges(value, tp, f"{dotted}.", origin)
            continue
        if value is None or check is None:
            continue
        source = origin.get(dotted, "defaults")
        if isinstance(value, list) and not value:
            raise UserError(
                f"{source}: xaireport.{dotted} may not be an empty list: each item must be {check.describe()}"
            )
        bad = [v for v in (value if isinstance(value, list) else [value]) if not check.ok(v)]
        if bad:
            what = "each item" if isinstance(value, list) else "it"
            raise UserError(
                f"{source}: xaireport.{dotted} = {_short(bad[0])} is out of range: {what} must be {check.describe()}"
            )
