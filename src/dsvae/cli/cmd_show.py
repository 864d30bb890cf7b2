"""``dsvae show``: write a run's pictures (PNG grids, animated GIFs, spectrograms) into RUN/show/ or --out."""

from __future__ import annotations

import argparse

from dsvae.cli.keys import add_overrides
from dsvae.config import apply_overrides
from dsvae.visualise.show import ShowConfig, show_run


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("show", help="write reconstructions, swaps, prior samples, ... of a run into RUN/show/")
    p.add_argument("run", metavar="RUN", help="run folder")
    p.add_argument("--data", help="data folder (default: the run config's data.path)")
    p.add_argument("--out", help="folder for the pictures instead of RUN/show (new, empty, or an earlier show)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier `dsvae show` output in --out")
    add_overrides(p, ShowConfig, "show settings, e.g. n_sequences=8")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = apply_overrides(ShowConfig(), args.overrides)
    paths = show_run(args.run, cfg, data_dir=args.data, out=args.out, overwrite=args.overwrite)
    print(f"wrote {len(paths)} files into {paths[-1].parent}")
    return 0
