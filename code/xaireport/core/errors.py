"""The one exception type that means "the user can fix this": the CLI prints it as one line, exit status 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or environment, with its fix in the message.

    The message may span several lines when it lists several bad files; each line names one file and
    the reason. The CLI prints it to stderr without a traceback and exits with status 2.
    """
