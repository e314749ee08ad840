"""The ``xaireport`` command line. Every user error is one line on stderr (several when it lists several bad
files) and exit status 2; no traceback."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from .errors import UserError

_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Register a subcommand: ``configure`` adds its options, the decorated function runs it."""
    def register(run: Callable[[argparse.Namespace], int]):
        _COMMANDS[name] = (help, configure, run)
        return run
    return register


def add_settings_options(p: argparse.ArgumentParser) -> None:
    """``--profile`` and ``--device``: the options every command reads its settings with."""
    p.add_argument("--profile", help="Quarto profile(s) whose settings to use (e.g. offline, smoke)")
    p.add_argument("--device", help="auto (default: GPU when present), cpu, cuda, cuda:N, mps")


def add_common(p: argparse.ArgumentParser, *, out: bool = True) -> None:
    """The options shared by the commands that explain a folder of images with a classifier."""
    add_settings_options(p)
    p.add_argument("--images", type=Path, help="folder of images (default: images.folder setting)")
    p.add_argument("--model", help="resnet50, resnet18, resnet18-places365 or efficientnet-lite0")
    p.add_argument("--weights", type=Path, help="local weights file instead of the download")
    if out:
        p.add_argument("--out", type=Path, required=True, help="output folder")


def settings_from(args: argparse.Namespace):
    """Settings of the project in the current folder (or the package's own project), with CLI overrides."""
    from .settings import find_project_dir, load

    overrides = {}
    if getattr(args, "device", None):
        overrides["device"] = args.device
    try:
        project = find_project_dir()
    except UserError:
        project = Path(__file__).resolve().parents[2]
        if not (project / "_quarto.yml").is_file():
            raise
    return load(profile=args.profile, project_dir=project, overrides=overrides)


def check_weights_file(path: Path | None) -> None:
    """Fail before any work when ``--weights`` names no file."""
    if path is not None and not path.is_file():
        raise UserError(f"{path}: weights file not found: check --weights")


def load_inputs(args: argparse.Namespace, settings):
    """Validate the images, the model and ``--target`` before any computation (shared by cams and lime)."""
    from . import images, models

    folder = args.images or settings.path("images.folder")
    name = args.model or settings["classifier.model"]
    if name not in models.MODEL_NAMES:
        raise UserError(f"unknown model {name!r}: choose one of {', '.join(models.MODEL_NAMES)}")
    check_weights_file(args.weights)
    imgs = images.load_folder(folder, max_megapixels=settings["images.max_megapixels"])
    weights = args.weights or (None if args.model else settings.path("classifier.weights"))
    clf = models.load(name, weights, device=settings["device"])
    target = getattr(args, "target", None)
    if target is not None and not 0 <= target < len(clf.categories):
        raise UserError(f"--target {target} is out of range for {clf.name} ({len(clf.categories)} classes)")
    return imgs, clf


def prepare_out(path: Path) -> Path:
    """Create the output folder (called only after every input has been validated)."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: --out must be a folder, and this is a file")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _configure_check(p: argparse.ArgumentParser) -> None:
    add_common(p, out=False)


@command("check", "validate settings, images and model; print what a render would use", _configure_check)
def _check(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    imgs, clf = load_inputs(args, settings)
    print(f"project   {settings.project_dir}  (profile: {settings.profile_name})")
    print(f"model     {clf.name} on {clf.device}  (weights sha256 {clf.weights_id[:12]})")
    for im in imgs:
        probs = clf.probabilities(im.array)
        top = int(probs.argmax())
        print(f"image     {im.name:24s} {im.array.shape[1]}x{im.array.shape[0]}  "
              f"→ {clf.categories[top]} ({probs[top]:.3f})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    # Import the modules that register subcommands.
    from . import commands  # noqa: F401

    parser = argparse.ArgumentParser(prog="xaireport", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, configure, run) in _COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(run=run)
    return parser




def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UserError as exc:
        print(f"xaireport: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xaireport: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
