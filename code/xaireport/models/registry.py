"""Model names: the registry of named builders (:data:`MODELS`, filled by :func:`register_model`) and of
library prefixes (:data:`PREFIXES`: ``timm:<name>``, ``torchvision:<name>``, filled by :func:`register_prefix`).

Reading the registry imports no torch (``xaireport --help``, the settings check); a prefixed name is checked
against its library's model list, which imports that library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from xaireport.core.errors import UserError

if TYPE_CHECKING:
    from xaireport.models.classifier import Classifier

#: Model name → builder ``(name, weights, random_init, categories) -> Classifier``.
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
    """Every registered model name, in registration order (CLI help, settings description)."""
    return tuple(MODELS)


def builder_for(name: str) -> Callable[..., Classifier]:
    """The builder of a checked model name."""
    check_model_name(name)
    prefix, sep, _rest = name.partition(":")
    return PREFIXES[prefix][0] if sep else MODELS[name]


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
        if prefix not in PREFIXES:
            choices = " or ".join(p + ":" for p in PREFIXES)
            raise UserError(f"unknown model prefix {prefix!r} in {name!r}: use {choices}")
        base = rest.split(".", 1)[0] if prefix == "timm" else rest
        known = PREFIXES[prefix][1]("")
        if base not in known:
            close = difflib.get_close_matches(base, known, n=3)
            hint = f" (close: {', '.join(prefix + ':' + c for c in close)})" if close else ""
            raise UserError(f"{prefix} has no model {base!r}{hint}: list them with `xaireport models --filter TEXT`")
        return
    if name not in MODELS:
        close = difflib.get_close_matches(name, list(MODELS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UserError(
            f"unknown model {name!r}{hint}: choose one of {', '.join(MODELS)}, or timm:<name> / torchvision:<name> "
            "(`xaireport models` lists them)"
        )
