"""The one exception type users see: a clear, one-line statement of what is wrong and what to do."""

from __future__ import annotations


class DSVAEError(Exception):
    """A problem with the user's input (a file, a shape, a config value).

    The command line prints ``dsvae: error: <message>`` and exits with status 2; the message
    names the problem and, where it can, what to do about it.
    """
