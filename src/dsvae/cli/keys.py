"""KEY=VALUE overrides on the command line, and ``--list-keys``: print the keys a command accepts, with
their defaults, and exit."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from dsvae.config import to_dict


def key_lines(cfg: Any, prefix: str = "") -> list[str]:
    """Every field of a (nested) config dataclass as ``dotted.key=default`` (defaults in JSON)."""

    def walk(d: dict[str, Any], at: str) -> list[str]:
        lines = []
        for key, value in d.items():
            if isinstance(value, dict):
                lines += walk(value, f"{at}{key}.")
            else:
                lines.append(f"{at}{key}={json.dumps(value)}")
        return lines

    return walk(to_dict(cfg), prefix)


def add_list_keys(parser: argparse.ArgumentParser, make_config: Callable[[], Any]) -> None:
    """Give ``parser`` a ``--list-keys`` flag that prints ``make_config()``'s keys and exits (like --version)."""

    class ListKeys(argparse.Action):
        def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
            print("\n".join(key_lines(make_config())))
            parser.exit()

    parser.add_argument("--list-keys", nargs=0, action=ListKeys, help="print every KEY=VALUE key and its default")


def add_overrides(parser: argparse.ArgumentParser, make_config: Callable[[], Any], what: str) -> None:
    """The KEY=VALUE positionals of a command whose config is ``make_config()``, and its ``--list-keys``.

    ``what``: the help text before "(keys: --list-keys)", e.g. "eval config overrides, e.g. seed=1".
    """
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help=f"{what} (keys: --list-keys)")
    add_list_keys(parser, make_config)
