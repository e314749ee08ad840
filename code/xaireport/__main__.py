"""``python -m xaireport``: the command line; Ctrl-C even during start-up is one line and exit status 130."""

import signal
import sys

try:
    from xaireport.cli import entry
except KeyboardInterrupt:  # before the command line could handle it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("xaireport: interrupted", file=sys.stderr)
    sys.exit(130)
entry()
