"""``python -m xaireport``: the command line; Ctrl-C even during start-up is one line and exit status 130."""

import signal
import sys


def _interrupted() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("xaireport: interrupted", file=sys.stderr)
    sys.exit(130)


try:
    from xaireport.cli import entry

    entry()
except KeyboardInterrupt:  # before, or in between, the command line's own handlers
    _interrupted()
