"""``dsvae judge``: train the classifier that scores generations, on a labelled data folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dsvae.cli.keys import add_overrides
from dsvae.config import apply_overrides
from dsvae.evaluate.judge import JudgeConfig, is_judge
from dsvae.evaluate.judge_train import train_and_save
from dsvae.outputs import check_output_folder, sweep_partials


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("judge", help="train a judge (a classifier of every labelled factor) on a data folder")
    p.add_argument("--data", required=True, help="labelled data folder with train and test splits")
    p.add_argument("--out", required=True, type=Path, help="folder to save the judge into (new or empty)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier judge at --out once training is done")
    p.add_argument("--steps", type=int, help="optimisation steps (judge.steps, default 1500)")
    p.add_argument("--threshold", type=float, help="accuracy every head needs on real test data (default 0.99)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_overrides(p, JudgeConfig, "judge config overrides, e.g. image_size=64")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.steps is not None:
        overrides.append(f"steps={args.steps}")
    if args.threshold is not None:
        overrides.append(f"threshold={args.threshold}")
    cfg = apply_overrides(JudgeConfig(), overrides)
    # before the training, so an unusable --out never costs a training
    check_output_folder(args.out, is_judge, args.overwrite, "judge folder", "judge")
    sweep_partials(args.out)  # saves of this judge killed midway: freed before the training, not after
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    judge = train_and_save(args.data, args.out, cfg, log)
    print(f"judge saved to {args.out}; accuracy on real test sequences, clean and corrupted:")
    corruptions = list(judge.robust_accuracy)
    print(f"  {'head':<14} {'clean':>7}" + "".join(f" {c:>7}" for c in corruptions))
    for name, acc in judge.test_accuracy.items():
        robust = "".join(f" {100 * judge.robust_accuracy[c].get(name, 0.0):6.2f}%" for c in corruptions)
        print(f"  {name:<14} {100 * acc:6.2f}%{robust}")
    if not judge.passed:
        bad = ", ".join(judge.failing(cfg.threshold))
        print(f"warning: below the threshold ({100 * cfg.threshold:.1f}% clean, {100 * cfg.robust_threshold:.1f}% "
              f"corrupted) on {bad}; `dsvae evaluate` will refuse it unless given a lower --min-judge-accuracy",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0
