"""The ``dsvae`` command line: a thin layer over the library.

Each sub-command lives in a module ``dsvae/cli/cmd_<name>.py`` exposing
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``. Only this
layer reads argv; a :class:`~dsvae.errors.DSVAEError` becomes one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from dsvae import __version__
from dsvae.errors import DSVAEError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dsvae",
        description="Disentangled Sequential Autoencoder: data, training, evaluation and pictures.",
    )
    parser.add_argument("--version", action="version", version=f"dsvae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("cmd_"))
    for name in names:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    # overrides (KEY=VALUE) may stand anywhere on the line, also after options
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "overrides") or any(a.startswith("-") for a in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    try:
        return int(args.func(args) or 0)
    except DSVAEError as exc:
        print(f"dsvae: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dsvae: interrupted", file=sys.stderr)
        return 130
