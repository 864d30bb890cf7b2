"""``dsvae info``: the resolved model config and parameter counts per part."""

from __future__ import annotations

import argparse
import json

from dsvae.config import apply_overrides, to_dict
from dsvae.model import DSVAE
from dsvae.presets import PRESETS, get_preset


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="print a preset's resolved config and parameter counts")
    p.add_argument("--preset", default="note", choices=sorted(PRESETS), help="named configuration (default: note)")
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, e.g. model.dim_z=16 (keys: `dsvae config --preset NAME`)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = apply_overrides(get_preset(args.preset), args.overrides)
    model = DSVAE(cfg.model)
    print(json.dumps(to_dict(cfg), indent=2))
    print("parameters:")
    for part, n in model.num_parameters().items():
        print(f"  {part:<8} {n:>12,}")
    return 0
