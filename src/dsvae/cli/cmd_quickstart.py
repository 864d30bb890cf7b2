"""``dsvae quickstart``: the zero-download tour: synthetic data, a short training, pictures."""

from __future__ import annotations

import argparse
from pathlib import Path

from dsvae.config import apply_overrides
from dsvae.data import build_shapes
from dsvae.presets import get_preset
from dsvae.train.loop import Trainer


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quickstart", help="build the synthetic set, train briefly on it, write pictures")
    p.add_argument("--out", default="runs/quickstart", help="folder for the data and the run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="overrides of the shapes preset")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    data = out / "data"
    if not (data / "meta.json").is_file():
        print(f"building the synthetic shapes set in {data} ...")
        build_shapes(data)
    cfg = apply_overrides(get_preset("shapes"), [f"data.path={data.resolve()}", *args.overrides])
    run_dir = out / "run"
    resume = (run_dir / "config.json").is_file()
    result = Trainer(cfg, run_dir, resume=resume, echo=not args.quiet).run()
    print(f"trained to step {result.step}: test ELBO {result.last_test.get('elbo', float('nan')):.1f} nats/sequence")
    print(f"run folder: {run_dir} (samples in {run_dir / 'samples'})")
    return 0
