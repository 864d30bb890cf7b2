"""``dsvae train``: train a preset on a data folder into a run folder (also under torchrun)."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from types import FrameType

from dsvae.config import apply_overrides
from dsvae.config_file import apply_config_file
from dsvae.errors import DSVAEError
from dsvae.presets import DEFAULT_PRESET, PRESETS, get_preset
from dsvae.run_config import RunConfig
from dsvae.train.distributed import DistInfo
from dsvae.train.loop import Trainer
from dsvae.train.resume import resume_config
from dsvae.visualise.samples import write_samples


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on a data folder (resumable; torchrun for many processes)",
        description="Train a model: the preset, then --config FILE, then KEY=VALUE overrides. "
        "`dsvae config --preset NAME` prints every key with its value.",
    )
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS), help="named configuration")
    p.add_argument(
        "--config", metavar="FILE", help="JSON or TOML config file over the preset (a run's config.json too)"
    )
    p.add_argument("--data", help="data folder written by `dsvae data` (sets data.path)")
    p.add_argument("--out", help="new run folder to create (new or empty; a run is never overwritten)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in RUN from its latest checkpoint")
    p.add_argument("--steps", type=int, help="stop (with a checkpoint) after this many steps in this call")
    p.add_argument("--quiet", action="store_true", help="no progress bar or console log")
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, e.g. train.lr=1e-3 (keys: `dsvae config --preset NAME`)",
    )
    p.set_defaults(func=run)


def resolve_config(args: argparse.Namespace) -> tuple[RunConfig, Path, bool]:
    """The run's config and folder, from a preset (new run) or the run folder (resume)."""
    overrides = list(args.overrides)
    if args.data:
        overrides.append(f"data.path={Path(args.data).resolve()}")
    if args.resume:
        if args.out:
            raise DSVAEError("give either --out (a new run) or --resume RUN, not both")
        if args.config:
            raise DSVAEError("--config starts a new run; a resumed run keeps its own config (change it with KEY=VALUE)")
        return resume_config(args.resume, overrides), Path(args.resume), True
    if not args.out:
        raise DSVAEError("give --out RUN for a new run (or --resume RUN)")
    cfg = get_preset(args.preset)
    if args.config:
        cfg = apply_config_file(cfg, args.config)
    return apply_overrides(cfg, overrides), Path(args.out), False


def dist_from_env() -> DistInfo:
    """torchrun's RANK / WORLD_SIZE / LOCAL_RANK, or a single process."""
    return DistInfo(
        rank=int(os.environ.get("RANK", 0)),
        world_size=int(os.environ.get("WORLD_SIZE", 1)),
        local_rank=int(os.environ.get("LOCAL_RANK", 0)),
    )


def run(args: argparse.Namespace) -> int:
    if args.steps is not None and args.steps < 1:
        raise DSVAEError(f"--steps must be a positive number of steps, got {args.steps}")
    cfg, run_dir, resume = resolve_config(args)
    requested = {"stop": False}

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if requested["stop"]:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        requested["stop"] = True

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        dist = dist_from_env()
        trainer = Trainer(
            cfg, run_dir, dist=dist, resume=resume, should_stop=lambda: requested["stop"],
            max_new_steps=args.steps, echo=not args.quiet and dist.is_main, write_samples=write_samples,
        )  # fmt: skip
        result = trainer.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if dist.is_main and not args.quiet:
        print(f"run folder: {run_dir}  (step {result.step}, {result.stopped})")
    return 0
