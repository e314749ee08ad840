"""What the commands share: the command registry, the common options, argparse value types, and the checks
that run before any computation (project and settings, model name, weights file, methods, inputs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xaireport.core.errors import UserError

if TYPE_CHECKING:
    from xaireport.models import Classifier
    from xaireport.session import Session

COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Register a subcommand: ``configure`` adds its options, the decorated function runs it."""

    def register(run: Callable[[argparse.Namespace], int]):
        COMMANDS[name] = (help, configure, run)
        return run

    return register


def add_settings_options(p: argparse.ArgumentParser) -> None:
    """``--project``, ``--profile`` and ``--device``: the options every command reads its settings with."""
    p.add_argument(
        "--project",
        type=Path,
        help="the report's folder (with _quarto.yml); default: $QUARTO_PROJECT_DIR, "
        "else the current folder or its nearest parent with _quarto.yml",
    )
    p.add_argument("--profile", help="Quarto profile(s) whose settings to use (e.g. offline, smoke)")
    p.add_argument("--device", help="auto (default: GPU when present), cpu, cuda, cuda:N, mps")


def add_model_options(p: argparse.ArgumentParser, required: bool = False, explain: bool = True) -> None:
    """``--model`` and ``--weights``; with ``explain``, also ``--classes`` and ``--target-layer``."""
    from xaireport.models import model_names

    p.add_argument(
        "--model",
        required=required,
        help=f"{', '.join(model_names())}, timm:<name> or torchvision:<name> (see `xaireport models`; "
        "default: classifier.model)",
    )
    p.add_argument(
        "--weights",
        type=Path,
        help="local weights file instead of the download: a state dict or a checkpoint with a state_dict/model key "
        "(fine-tuned: the class count follows the file)",
    )
    if not explain:
        return
    p.add_argument(
        "--classes", type=Path, help="text file, one class name per line in output order (classifier.classes)"
    )
    p.add_argument(
        "--target-layer", help="dotted module name to explain (default: classifier.target_layer, else detected)"
    )


def add_common(p: argparse.ArgumentParser, *, out: bool = True) -> None:
    """The options shared by the commands that explain a folder of images with a classifier."""
    add_settings_options(p)
    p.add_argument("--images", type=Path, help="folder of images (default: images.folder setting)")
    p.add_argument("--limit", type=positive_int, help="use only the first N images by name (default: images.limit)")
    add_model_options(p)
    if out:
        p.add_argument("--out", type=Path, required=True, help="output folder")


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value


def fraction(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return value


def project_dir(args: argparse.Namespace) -> Path:
    """``--project``, else ``$QUARTO_PROJECT_DIR``, else the nearest folder upwards with ``_quarto.yml``, else
    the package's own report (said on stderr, so that nobody writes into an install folder unknowingly)."""
    from xaireport.settings import find_project_dir

    if getattr(args, "project", None) is not None:
        p = args.project.expanduser()
        if not (p / "_quarto.yml").is_file():
            raise UserError(f"{p}: no _quarto.yml there: --project must be the report's folder")
        return p.resolve()
    try:
        return find_project_dir()
    except UserError:
        own = Path(__file__).resolve().parents[3]  # the checkout holding code/xaireport/cli/
        if not (own / "_quarto.yml").is_file():
            raise UserError(
                f"no _quarto.yml in {Path.cwd()} or any parent folder: run from the report's folder "
                "or pass --project DIR"
            ) from None
        print(
            f"xaireport: no _quarto.yml in {Path.cwd()} or its parents: using the report at {own} "
            "(pass --project DIR to choose another)",
            file=sys.stderr,
        )
        return own


def _absolute(path: Path) -> str:
    """An option's path as the settings value: relative to the current folder, as the user typed it (a setting in
    a file is relative to the project folder instead)."""
    return str(path.expanduser().absolute())


def option_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The common options as settings overrides: ``--device``, ``--images``, ``--limit``, ``--model`` (which drops
    the settings' weights, classes and layer: they belong to the settings' model), ``--weights``, ``--classes``,
    ``--target-layer``."""
    out: dict[str, Any] = {}
    if getattr(args, "device", None):
        out["device"] = args.device
    if getattr(args, "images", None) is not None:
        out["images.folder"] = _absolute(args.images)
    if getattr(args, "limit", None) is not None:
        out["images.limit"] = args.limit
    if getattr(args, "model", None) is not None:
        out.update({"classifier.model": args.model, "classifier.weights": None, "classifier.classes": None})
        out["classifier.target_layer"] = None
    for option, key in (("weights", "classifier.weights"), ("classes", "classifier.classes")):
        if getattr(args, option, None) is not None:
            out[key] = _absolute(getattr(args, option))
    if getattr(args, "target_layer", None) is not None:
        out["classifier.target_layer"] = args.target_layer
    return out


def settings_from(args: argparse.Namespace, overrides: dict[str, Any] | None = None):
    """The project's settings with the command's options (:func:`option_overrides`) and ``overrides`` (dotted
    keys) applied, checked like the files."""
    from xaireport.settings import load

    project = project_dir(args)
    if getattr(args, "model", None) is not None:
        check_model_name(args.model)
    check_weights_file(getattr(args, "weights", None))
    if getattr(args, "classes", None) is not None and not args.classes.is_file():
        raise UserError(f"{args.classes}: classes file not found: check --classes")
    return load(profile=args.profile, project_dir=project, overrides={**option_overrides(args), **(overrides or {})})


def session_from(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Session:
    """A :class:`~xaireport.session.Session` of the settings :func:`settings_from` gives: the same object the
    chapters compute with."""
    from xaireport.session import Session

    return Session(settings_from(args, overrides))


def check_weights_file(path: Path | None) -> None:
    """Fail before any work when ``--weights`` names no file."""
    if path is not None and not path.is_file():
        raise UserError(f"{path}: weights file not found: check --weights")


def check_model_name(name: str) -> None:
    from xaireport.models import check_model_name as check

    check(name)


def parse_methods(text: str | None, family: str | None = None) -> list[str] | None:
    """``--methods "gradcam, ablationcam"`` → names, stripped, duplicates dropped (``None`` when not given);
    empty names and unknown ones (of another ``family``) are errors naming the choices. Call it once the settings
    have loaded (:func:`settings_from`): the ``plugins`` they name register methods that ``--methods`` may name."""
    from xaireport.methods import registry

    if text is None:
        return None
    choices = registry.names(family)
    methods = [m.strip() for m in text.split(",")]
    if not any(methods) or "" in methods:
        raise UserError(f"--methods {text!r} has an empty name: give a comma-separated list of {', '.join(choices)}")
    registry.check(methods, "--methods", family)
    return list(dict.fromkeys(methods))


def session_with_methods(
    args: argparse.Namespace, setting: str, family: str | None = None, overrides: dict[str, Any] | None = None
) -> Session:
    """The command's session with ``--methods`` as the settings key ``setting`` (``cams.methods``,
    ``sanity.methods``): the settings load first (importing their plug-ins), then ``--methods`` is checked
    against the registry they extended (:func:`parse_methods`), then it overrides ``setting``."""
    from xaireport.session import Session

    settings = settings_from(args, overrides)
    methods = parse_methods(args.methods, family)
    if methods is None:
        return Session(settings)
    return session_from(args, {**(overrides or {}), setting: methods})


def prepare(args: argparse.Namespace, session: Session, out: Path | None = None) -> Classifier:
    """Validate the images, ``--out``, the device and ``--target`` before any computation (the model name and the
    files were checked with the settings, :func:`settings_from`), then load the classifier (which the session
    keeps). Nothing is written."""
    from xaireport.core import progress
    from xaireport.core.device import resolve
    from xaireport.models.description import real

    s = session.settings
    session.images()
    from xaireport.core.fileio import check_output_folder

    check_output_folder(s.folder(s.paths.cache), option="paths.cache")  # the result cache: before any work
    if out is not None:
        check_output_folder(out)
        images = s.folder(s.images.folder).resolve()
        if out.resolve() == images or images in out.resolve().parents:
            raise UserError(
                f"{out}: --out is inside the images folder {images}, so a later run would read its outputs as "
                "images: choose a folder outside it"
            )
    resolve(s.device)  # an unknown or absent device fails before the model is loaded
    progress.note(f"loading {s.classifier.model}")
    clf = real(session.classifier())
    target = getattr(args, "target", None)
    if target is not None and not 0 <= target < len(clf.categories):
        raise UserError(f"--target {target} is out of range for {clf.name} ({len(clf.categories)} classes)")
    return clf
