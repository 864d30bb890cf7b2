"""Config files: a JSON or TOML file laid over a config dataclass (a preset), before CLI overrides.

A file may set any subset of the fields, nested by section exactly like ``config.json``::

    {"model": {"dim_z": 16}, "train": {"lr": 0.001, "max_steps": 2000}}

    [model]
    dim_z = 16

so a run's own ``config.json`` is a complete config file. An unknown key, a section given a
plain value or a value of the wrong type is a :class:`DSVAEError` naming the key and the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from dsvae.config import from_dict, to_dict
from dsvae.errors import DSVAEError

C = TypeVar("C")

SUFFIXES = (".json", ".toml")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The nested dict a config file holds (JSON by default, TOML for a ``.toml`` file)."""
    path = Path(path)
    if not path.is_file():
        raise DSVAEError(f"config file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DSVAEError(f"cannot read config file {path} ({exc})") from exc
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError as exc:  # Python 3.10: the standard library reads TOML from 3.11 on
            raise DSVAEError(f"reading TOML ({path}) needs Python 3.11 or newer; use a JSON config file") from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DSVAEError(f"config file {path} is not valid TOML ({exc})") from exc
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DSVAEError(f"config file {path} is not valid JSON ({exc}); TOML files need the .toml suffix") from exc
    if not isinstance(data, dict):
        raise DSVAEError(f"config file {path} must hold an object of sections, got {type(data).__name__}")
    return data


def _lay_over(base: dict[str, Any], top: dict[str, Any], path: Path, prefix: str = "") -> None:
    """Copy ``top``'s values into ``base`` in place; every key of ``top`` must exist in ``base``."""
    for key, value in top.items():
        name = f"{prefix}{key}"
        if key not in base:
            known = ", ".join(sorted(base))
            raise DSVAEError(f"config file {path}: unknown key {name!r}; known here: {known}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise DSVAEError(f"config file {path}: {name!r} is a section; give it a table of fields")
            _lay_over(base[key], value, path, name + ".")
        else:
            base[key] = value


def apply_config_file(cfg: C, path: str | Path) -> C:
    """A copy of ``cfg`` with the file's values laid over it, checked like the config itself."""
    path = Path(path)
    data = to_dict(cfg)
    _lay_over(data, read_config_file(path), path)
    try:
        return from_dict(type(cfg), data)
    except DSVAEError as exc:  # a wrong type or value: the preset's own values are valid
        raise DSVAEError(f"config file {path}: {exc}") from exc
