"""Model names: the registry of named builders (:data:`MODELS`, filled by :func:`register_model`) and of
library prefixes (:data:`PREFIXES`: ``timm:<name>``, ``torchvision:<name>``, filled by :func:`register_prefix`).

The built-in names and prefixes are records (:data:`BUILTIN_MODELS`, :data:`BUILTIN_PREFIXES`: name → the family
module whose builder makes them), imported when a model of that family is first built or its names listed. So
reading the registry imports no torch and no builder (``xaireport --help``, the settings check), and
:func:`builder_module` tells, without importing anything, which module's code makes a model: the code part of the
cache keys of that model's results. A prefixed name is checked against its library's model list, which imports
that library. A plug-in registers its own builder with :func:`register_model` (a built-in name registered again is
replaced).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from xaireport.core.errors import UserError

if TYPE_CHECKING:
    from xaireport.models.classifier import Classifier

_FAMILIES = "xaireport.models.families"

#: The built-in model names → the module whose builder makes them (imported on first use).
BUILTIN_MODELS = {
    "resnet50": f"{_FAMILIES}.resnet",
    "resnet18": f"{_FAMILIES}.resnet",
    "resnet18-places365": f"{_FAMILIES}.places365",
    "efficientnet-lite0": f"{_FAMILIES}.efficientnet_lite",
}

#: The built-in library prefixes → the module whose builder makes their models (imported on first use).
BUILTIN_PREFIXES = {"timm": f"{_FAMILIES}.timm_models", "torchvision": f"{_FAMILIES}.torchvision_models"}

#: Model name → builder ``(name, weights, random_init, categories) -> Classifier`` (registered so far: a built-in
#: family's builders once its module is imported).
MODELS: dict[str, Callable[..., Classifier]] = {}

#: Library prefix → (builder ``(name, weights, random_init, categories) -> Classifier``, names ``(filter) ->
#: list[str]`` of every model the library can build).
PREFIXES: dict[str, tuple[Callable[..., Classifier], Callable[[str], list[str]]]] = {}


def register_model(*names: str) -> Callable[[Callable[..., Classifier]], Callable[..., Classifier]]:
    """Register a builder under one or more model names (as timm's ``register_model``)."""

    def register(builder: Callable[..., Classifier]) -> Callable[..., Classifier]:
        for n in names:
            MODELS[n] = builder
        return builder

    return register


def register_prefix(prefix: str, names: Callable[[str], list[str]]):
    """Register the builder of every ``prefix:<name>`` model; ``names(filter)`` lists the valid ``<name>``s."""

    def register(builder: Callable[..., Classifier]) -> Callable[..., Classifier]:
        PREFIXES[prefix] = (builder, names)
        return builder

    return register


def model_names() -> tuple[str, ...]:
    """Every model name (built-in, then registered by plug-ins), in order (CLI help, settings description)."""
    return tuple(dict.fromkeys([*BUILTIN_MODELS, *MODELS]))


def prefixes() -> tuple[str, ...]:
    """Every library prefix (``timm``, ``torchvision``, then any a plug-in registered)."""
    return tuple(dict.fromkeys([*BUILTIN_PREFIXES, *PREFIXES]))


def _builder(name: str) -> Callable[..., Classifier]:
    if name not in MODELS:
        importlib.import_module(BUILTIN_MODELS[name])
    return MODELS[name]


def _prefix(prefix: str) -> tuple[Callable[..., Classifier], Callable[[str], list[str]]]:
    if prefix not in PREFIXES:
        importlib.import_module(BUILTIN_PREFIXES[prefix])
    return PREFIXES[prefix]


def prefix_names(prefix: str, text: str = "") -> list[str]:
    """The ``<name>``s that ``prefix:<name>`` accepts (containing ``text``): imports the library."""
    return _prefix(prefix)[1](text)


def builder_for(name: str) -> Callable[..., Classifier]:
    """The builder of a checked model name."""
    check_model_name(name)
    prefix, sep, _rest = name.partition(":")
    return _prefix(prefix)[0] if sep else _builder(name)


def builder_module(name: str) -> str | None:
    """The module whose builder makes model ``name`` (a family module of the package, or a plug-in's), without
    importing it or checking a library name; ``None`` for a name no builder is registered for (a classifier a
    caller assembled itself)."""
    prefix, sep, _rest = name.partition(":")
    if sep:
        if prefix in PREFIXES:
            return PREFIXES[prefix][0].__module__
        return BUILTIN_PREFIXES.get(prefix)
    if name in MODELS:
        return MODELS[name].__module__
    return BUILTIN_MODELS.get(name)


def is_model_name(name: str) -> bool:
    """Whether ``name`` is a registered name or a ``prefix:<name>`` its library can build."""
    try:
        check_model_name(name)
    except UserError:
        return False
    return True


def check_model_name(name: str) -> None:
    """Raises :class:`UserError` naming the choices (or close names) when ``name`` is not a model."""
    import difflib

    if not isinstance(name, str):
        raise UserError(f"model name {name!r} is not a string")
    prefix, sep, rest = name.partition(":")
    if sep:
        if prefix not in prefixes():
            choices = " or ".join(p + ":" for p in prefixes())
            raise UserError(f"unknown model prefix {prefix!r} in {name!r}: use {choices}")
        base = rest.split(".", 1)[0] if prefix == "timm" else rest
        known = prefix_names(prefix)
        if base not in known:
            close = difflib.get_close_matches(base, known, n=3)
            hint = f" (close: {', '.join(prefix + ':' + c for c in close)})" if close else ""
            raise UserError(f"{prefix} has no model {base!r}{hint}: list them with `xaireport models --filter TEXT`")
        return
    if name not in model_names():
        close = difflib.get_close_matches(name, list(model_names()), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UserError(
            f"unknown model {name!r}{hint}: choose one of {', '.join(model_names())}, or timm:<name> / "
            "torchvision:<name> (`xaireport models` lists them)"
        )
