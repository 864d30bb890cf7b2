"""``dsvae config``: print the config a training run would use (a preset, a file, overrides) as JSON."""

from __future__ import annotations

import argparse
import json

from dsvae.config import apply_overrides, to_dict
from dsvae.config_file import apply_config_file
from dsvae.presets import DEFAULT_PRESET, PRESETS, get_preset


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        help="print a preset's resolved training config as JSON (every key `dsvae train` accepts)",
        description="Print the resolved training config: the preset, then --config FILE, then KEY=VALUE "
        "overrides. The output is itself a config file for `dsvae train --config`.",
    )
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS), help="named configuration")
    p.add_argument("--config", metavar="FILE", help="a JSON or TOML config file laid over the preset")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. train.lr=1e-3")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = get_preset(args.preset)
    if args.config:
        cfg = apply_config_file(cfg, args.config)
    print(json.dumps(to_dict(apply_overrides(cfg, args.overrides)), indent=2))
    return 0
