"""``dsvae evaluate``: the disentanglement protocol on a run, scored by a judge."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from dsvae.cli.keys import add_overrides
from dsvae.config import apply_overrides
from dsvae.errors import DSVAEError
from dsvae.evaluate.protocol import EvalConfig, evaluate, write_evaluation
from dsvae.io import read_json
from dsvae.outputs import atomic_folder, check_output_folder, check_writable
from dsvae.run_folder import EVAL_DIR, EVAL_METRICS, EVAL_TABLES, SUMMARY_NAME
from dsvae.train.logger import log_scores


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score a run with judges; writes RUN/eval/metrics.json and metrics.md")
    p.add_argument("run", metavar="RUN", help="run folder")
    p.add_argument(
        "--judge",
        required=True,
        action="append",
        help="judge folder written by `dsvae judge`; repeat to score with several judges and compare them",
    )
    p.add_argument("--samples", type=int, help="draws of each random test (eval.samples, default 3)")
    p.add_argument("--data", help="data folder (default: the run config's data.path)")
    p.add_argument("--max-sequences", type=int, help="score a random subset of this many test sequences")
    p.add_argument("--min-judge-accuracy", type=float, help="accept a judge whose worst head reaches this")
    p.add_argument("--out", metavar="DIR", type=Path, help="write metrics.json and metrics.md here (default: RUN/eval)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier evaluation at --out")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_overrides(p, EvalConfig, "eval config overrides, e.g. seed=1")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    for key, value in (("samples", args.samples), ("max_sequences", args.max_sequences),
                       ("min_judge_accuracy", args.min_judge_accuracy)):  # fmt: skip
        if value is not None:
            overrides.append(f"{key}={value}")
    cfg = apply_overrides(EvalConfig(), overrides)
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise DSVAEError("device=cuda but no CUDA device is available; use device=cpu")
    if not Path(args.run).is_dir():
        raise DSVAEError(f"run folder {args.run} does not exist")
    # checked before the (long) evaluation, so it never fails at the end
    if args.out is not None:
        check_output_folder(args.out, EVAL_METRICS, args.overwrite, "evaluation folder", "evaluate")
    else:
        check_writable(Path(args.run) / EVAL_DIR, "evaluation folder")
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    metrics = evaluate(args.run, args.judge, cfg, data_dir=args.data, log=log)
    if args.out is None:  # derived inside the run: refreshed in place, file by file
        paths = write_evaluation(args.run, metrics)
        summary = Path(args.run) / SUMMARY_NAME
        done = read_json(summary, what="run summary") if summary.is_file() else {}
        step = done.get("step", 0) if isinstance(done, dict) else 0
        log_scores(Path(args.run), metrics, int(step))  # TensorBoard, when the run logs to it
    else:
        with atomic_folder(args.out) as tmp:
            write_evaluation(args.run, metrics, out=tmp)
        paths = [args.out / EVAL_METRICS, args.out / EVAL_TABLES]
    print(paths[1].read_text())
    print(f"wrote {paths[0]} and {paths[1]}")
    return 0
