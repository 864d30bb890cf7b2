"""``dsvae quickstart``: the zero-download tour, end to end.

Builds the synthetic ``shapes`` set, trains the ``shapes`` preset on it, trains a judge, scores
the run with the literature's protocol, and writes the pictures and the HTML report. Each stage
says how long it took, so a user can tell where the minutes went.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dsvae.config import apply_overrides
from dsvae.data import build_shapes, read_info
from dsvae.data.shapes import RECIPE_VERSION
from dsvae.errors import DSVAEError
from dsvae.evaluate.judge import JudgeConfig
from dsvae.evaluate.judge_train import train_and_save
from dsvae.evaluate.protocol import EvalConfig, evaluate, write_evaluation
from dsvae.presets import get_preset
from dsvae.train.loop import Trainer
from dsvae.visualise.report import build_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quickstart", help="synthetic data, a short training, judge scores, pictures and a report")
    p.add_argument("--out", default="runs/quickstart", help="folder for the data, the judge and the run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="overrides of the shapes preset")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    say = (lambda _: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
    data, judge, run_dir = out / "data", out / "judge", out / "run"
    clock = Stopwatch()
    if (data / "meta.json").is_file():
        check_recipe(data, out)
    else:
        print(f"1/4 building the synthetic shapes set in {data}")
        build_shapes(data)
        print(f"    {clock.lap()}")
    print(f"2/4 training the shapes preset into {run_dir}")
    cfg = apply_overrides(get_preset("shapes"), [f"data.path={data.resolve()}", *args.overrides])
    resume = (run_dir / "config.json").is_file()
    result = Trainer(cfg, run_dir, resume=resume, echo=not args.quiet).run()
    print(f"    {clock.lap()} (step {result.step})")
    if not (judge / "config.json").is_file():
        print(f"3/4 training a judge on the real sequences into {judge}")
        train_and_save(data, judge, JudgeConfig(), say)
        print(f"    {clock.lap()}")
    print("4/4 scoring the run and drawing the pictures")
    metrics = evaluate(run_dir, judge, EvalConfig(samples=2), log=say)
    write_evaluation(run_dir, metrics)
    report = build_report(run_dir)
    print(f"    {clock.lap()}")
    print_summary(metrics, result.step, result.last_test.get("elbo", float("nan")))
    print(f"report: {report} ({clock.total()} in all)")
    return 0


def check_recipe(data: Path, out: Path) -> None:
    """Refuse a data folder of an older shapes recipe: the preset's model would not fit its frames."""
    info = read_info(data)
    if info.name != "shapes" or info.recipe_version != RECIPE_VERSION:
        raise DSVAEError(
            f"{data} holds {info.name!r} data of recipe {info.recipe_version}, not the current shapes recipe "
            f"{RECIPE_VERSION} (an older quick start?); choose another --out or remove {out}"
        )


def print_summary(metrics: dict, step: int, elbo: float) -> None:
    """The figures a newcomer should look at: both directions of disentanglement, their ceilings, the swap."""
    dynamic, static = metrics["factors"]["dynamic"], metrics["factors"]["static"]

    def pct(values: dict, names: list[str]) -> str:
        return ", ".join(f"{a} {100 * _mean(values[a]):.1f}%" for a in names)

    print(f"step {step}: test ELBO {elbo:.1f} nats per sequence")
    print(f"dynamics kept, content resampled: {pct(metrics['content_resampled']['accuracy'], [dynamic])}")
    print(f"content kept, dynamics resampled: {pct(metrics['dynamics_resampled']['accuracy'], static)}")
    print(f"reconstructions (the ceiling of both): {pct(metrics['reconstruction']['accuracy'], [dynamic, *static])}")
    swap = metrics["swap"]
    print(f"swap (f of A, z of B): content follows A: {pct(swap['vs_content_source'], static)}; "
          f"motion follows B: {pct(swap['vs_dynamics_source'], [dynamic])}")  # fmt: skip


def _mean(value: float | dict) -> float:
    """A score that is a plain number (deterministic tests) or a mean and std over draws."""
    return value["mean"] if isinstance(value, dict) else value


class Stopwatch:
    """Wall-clock of each stage of the tour, and of the whole."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()

    def lap(self) -> str:
        """Seconds since the previous lap (or the start), as 'took N s'."""
        now = time.perf_counter()
        seconds, self.last = now - self.last, now
        return f"took {seconds:.0f} s"

    def total(self) -> str:
        return f"{time.perf_counter() - self.start:.0f} s"
