"""The ``xaireport`` command line: explain a folder of images with a classifier, without Quarto.

Every command reads the same settings as the render (``_quarto.yml`` and the active profile of the project in
the current folder, or ``--project DIR`` / ``$QUARTO_PROJECT_DIR``); an option overrides its setting. Every
user error is one line on stderr (one more line per bad file when it lists several) and exit status 2;
Ctrl-C at any moment is one line and exit status 130. No traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from xaireport.cli.options import COMMANDS
from xaireport.core.errors import UserError

#: The modules that register a subcommand each (imported by :func:`build_parser`, in this order).
COMMAND_MODULES = ("check", "models", "explain", "cams", "lime", "compare", "sanity", "dissect", "precompute")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block): ``xaireport cams: error: ... (see xaireport cams --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    for module in COMMAND_MODULES:  # each registers its subcommand (light: heavy imports happen inside it)
        importlib.import_module(f"xaireport.cli.{module}")

    description = __doc__.split("\n\n")[0].replace("\n", " ").replace("``", "")
    parser = _Parser(prog="xaireport", description=description)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name, (help_text, configure, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, or an argument error already printed as one line
            return exc.code if isinstance(exc.code, int) else 2
        return args.run(args)
    except UserError as exc:
        print(f"xaireport: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xaireport: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `xaireport check | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def entry() -> None:
    """The ``xaireport`` program: :func:`main`, exiting with its status; after Ctrl-C (130) a second Ctrl-C while
    the process winds down (torch's finalisers) is ignored, so the status stays 130."""
    try:
        code = main()
    except KeyboardInterrupt:  # between main's own handlers (e.g. while it prints)
        print("xaireport: interrupted", file=sys.stderr)
        code = 130
    if code == 130:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    entry()
