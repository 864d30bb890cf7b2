"""``dsvae report``: one self-contained HTML page about a run (RUN/report.html, or OUT/report.html)."""

from __future__ import annotations

import argparse

from dsvae.cli.keys import add_overrides
from dsvae.config import apply_overrides
from dsvae.visualise.report import build_report
from dsvae.visualise.show import ShowConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write RUN/report.html: config, curves, metrics beside the literature, pictures")
    p.add_argument("run", metavar="RUN", help="run folder")
    p.add_argument("--data", help="data folder for the pictures (default: the run config's data.path)")
    p.add_argument("--redraw", action="store_true", help="draw the pictures again even if RUN/show has them")
    p.add_argument("--out", help="folder for report.html instead of the run (new, empty, or an earlier report)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier `dsvae report` output in --out")
    add_overrides(p, ShowConfig, "picture settings when drawing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    show = apply_overrides(ShowConfig(), args.overrides) if (args.redraw or args.overrides) else None
    out = build_report(args.run, show, data_dir=args.data, out=args.out, overwrite=args.overwrite)
    print(f"wrote {out}")
    return 0
