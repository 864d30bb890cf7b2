"""Time to quality on Sprites: train under a wall-clock budget, score with the judge as it goes.

Trains a preset (the CPU-sized Sprites model by default) on the real Sprites set in chunks of
``--eval-every`` minutes of training; after each chunk the latest checkpoint is scored with
the judge on a subset of the test split (evaluation time is not counted as training time):

- dynamics kept, content resampled: motion accuracy, IS, H(y|x), H(y) (the papers' "Acc");
- content kept, dynamics resampled: accuracy of every static attribute and of all together;
- the judge on plain reconstructions (the ceiling for "content kept") and the swap test
  (f of A with z of B: which attributes follow f, which follow z);
- "zero f": f = 0 with z_1:T kept (what z alone carries: the motion should survive, the
  appearance should not);
- the test ELBO.

Writes ``OUT/quality.jsonl`` (one row per evaluation), ``OUT/quality.md`` (the table, with
minutes to each accuracy level) and ``OUT/quality.svg`` (the curves). Example::

    python benchmarks/sprites_quality.py --data data/sprites --judge judges/sprites \\
        --judge judges/lstm --out runs/quality --minutes 60 --eval-every 5 train.precision=bf16

The preset's learning-rate schedule applies (``sprites-cpu``: cosine over 9000 steps, about an
hour on 2 CPU cores with bf16); set ``train.max_steps`` to the steps your budget buys, or
``train.schedule=constant``.

``--smoke`` runs a seconds-long version on the synthetic shapes set (what CI runs).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dsvae.config import apply_overrides
from dsvae.data import build_shapes, open_dataset, read_info
from dsvae.errors import DSVAEError
from dsvae.evaluate.judge import Judge, JudgeConfig
from dsvae.evaluate.judge_train import train_and_save
from dsvae.evaluate.protocol import EvalConfig, evaluate
from dsvae.io import atomic_write
from dsvae.model import DSVAE
from dsvae.presets import get_preset
from dsvae.tables import Heading, Paragraph, Table, to_markdown
from dsvae.train.loop import Trainer
from dsvae.train.resume import resume_config
from dsvae.visualise.svg import line_chart

LEVELS = (0.5, 0.9, 0.95, 0.99)  # accuracy levels whose first time is reported
SMOKE_MODEL = [
    "model.dim_z=4", "model.dim_f=8", "model.dim_h=16", "model.dim_hidden=32", "model.n_channels=8",
    "train.batch_size=8", "train.warmup_steps=2",
]  # fmt: skip


def mean(node: Any) -> float:
    """A metric that is either a plain number or a {"mean", "std"} over draws."""
    return float(node["mean"]) if isinstance(node, dict) else float(node)


def row_from_metrics(minutes: float, step: int, m: dict[str, Any]) -> dict[str, Any]:
    """The benchmark's row: the two directions, reconstructions, swap, ELBO (the first judge's figures).

    With several judges, ``by_judge`` holds each judge's dynamics kept and content kept, and
    ``judges_disagree`` the largest difference between judges over every accuracy and the figure it is on.
    """
    dyn, static = m["factors"]["dynamic"], m["factors"]["static"]
    kept_dyn, kept_content = m["content_resampled"], m["dynamics_resampled"]
    row: dict[str, Any] = {
        "minutes": round(minutes, 2),
        "step": step,
        "dynamics_kept": {
            "accuracy": mean(kept_dyn["accuracy"][dyn]), "is": mean(kept_dyn["is"]),
            "h_y_given_x": mean(kept_dyn["h_y_given_x"]), "h_y": mean(kept_dyn["h_y"]),
        },
        "content_kept": {a: mean(kept_content["accuracy"][a]) for a in static},
        "reconstruction": {a: mean(m["reconstruction"]["accuracy"][a]) for a in [dyn, *static]},
        "swap_follows_f": {a: mean(m["swap"]["vs_content_source"][a]) for a in [dyn, *static]},
        "swap_follows_z": {a: mean(m["swap"]["vs_dynamics_source"][a]) for a in [dyn, *static]},
        "test_elbo": mean(m["likelihood"]["elbo"]),
        "kl_f": mean(m["likelihood"]["kl_f"]),
        "kl_z": mean(m["likelihood"]["kl_z"]),
    }  # fmt: skip
    row["content_kept"]["all"] = mean(kept_content["joint_static_accuracy"])
    if len(m.get("by_judge", {})) > 1:
        row["by_judge"] = {
            label: {"dynamics_kept": mean(j["content_resampled"]["accuracy"][dyn]),
                    "content_kept": {a: mean(j["dynamics_resampled"]["accuracy"][a]) for a in static}}
            for label, j in m["by_judge"].items()
        }  # fmt: skip
        worst = m["agreement"]["max_disagreement"]
        row["judges_disagree"] = {"figure": worst["figure"], "spread": worst["spread"]}
    return row


@torch.no_grad()
def zero_f_accuracy(run_dir: Path, judge_dir: Path, data: Path, n: int, seed: int = 0) -> dict[str, float]:
    """Judge accuracy per factor on decode(f = 0, z_1:T = posterior mean) of ``n`` random test sequences (0: all)."""
    model = DSVAE.from_pretrained(run_dir, checkpoint="latest")
    judge = Judge.load(judge_dir)
    test = open_dataset(data, "test", labelled=True)
    pick = np.arange(len(test))
    if 0 < n < len(test):
        pick = np.sort(np.random.default_rng(seed).choice(len(test), n, replace=False))
    hits, labels = np.zeros(len(judge.factor_names)), np.asarray(test.labels)
    for start in range(0, len(pick), 64):
        idx = pick[start : start + 64]
        z = model.encode(test.get_batch(idx)["x"]).z_mean  # (B, T, Z)
        x = model.decode(torch.zeros(len(idx), model.config.dim_f), z)
        for k, p in enumerate(judge.probabilities(x)):
            hits[k] += (p.argmax(1).numpy() == labels[idx, k]).sum()
    return {name: float(h / len(pick)) for name, h in zip(judge.factor_names, hits, strict=True)}


def first_time(rows: list[dict[str, Any]], value: Any, level: float) -> str:
    for r in rows:
        if value(r) >= level:
            return f"{r['minutes']:.0f}"
    return "not reached"


def markdown(rows: list[dict[str, Any]], title: str) -> str:
    static = [a for a in rows[0]["content_kept"] if a != "all"]
    pct = lambda v: f"{100 * v:.1f}"  # noqa: E731
    head = ["min", "step", "dyn kept: Acc %", "IS", "H(y|x)", "H(y)"] + [f"content kept: {a} %" for a in static]
    others = list(rows[0].get("by_judge", {}))[1:]  # the first judge's figures are the row's own
    head += [f"dyn kept, judge {label} %" for label in others] + (["judges differ most (points)"] if others else [])
    over_time = Table([*head, "all %", "test ELBO"])
    for r in rows:
        d = r["dynamics_kept"]
        cells = [f"{r['minutes']:.0f}", str(r["step"]), pct(d["accuracy"]), f"{d['is']:.3f}",
                 f"{d['h_y_given_x']:.3f}", f"{d['h_y']:.3f}"]  # fmt: skip
        cells += [pct(r["content_kept"][a]) for a in static]
        cells += [pct(r["by_judge"][label]["dynamics_kept"]) for label in others]
        if others:
            cells.append(f"{100 * r['judges_disagree']['spread']:.1f} ({r['judges_disagree']['figure']})")
        cells += [pct(r["content_kept"]["all"]), f"{r['test_elbo']:.1f}"]
        over_time.rows.append(cells)
    last = rows[-1]
    names = list(last["reconstruction"])
    lost = Table(["", *names])
    for key, label in (("reconstruction", "judge on reconstructions"), ("swap_follows_f", "swap: follows f (A)"),
                       ("swap_follows_z", "swap: follows z (B)"), ("zero_f", "zero f (f = 0, z kept)")):  # fmt: skip
        if key in last:
            lost.rows.append([label, *(pct(last[key][a]) for a in names)])
    levels = Table(["level", "dynamics kept", *(f"content kept: {a}" for a in [*static, "all"])])
    for level in LEVELS:
        cells = [first_time(rows, lambda r: r["dynamics_kept"]["accuracy"], level)]
        cells += [first_time(rows, lambda r, a=a: r["content_kept"][a], level) for a in [*static, "all"]]
        levels.rows.append([f"{100 * level:.0f}%", *cells])
    return to_markdown([
        Heading(title, 3), over_time,
        Paragraph(f"At {last['minutes']:.0f} min, where content is lost (accuracy %, per attribute):"), lost,
        Paragraph("Minutes of training to each level:"), levels,
    ])  # fmt: skip


def plot(rows: list[dict[str, Any]], title: str) -> str:
    """Accuracy against minutes: the dynamics kept, and the content kept of each attribute and all."""
    series = {"dynamics kept": [(r["minutes"], r["dynamics_kept"]["accuracy"]) for r in rows]}
    for a in rows[0]["content_kept"]:
        series[a] = [(r["minutes"], r["content_kept"][a]) for r in rows]
    return line_chart(title + " (accuracy)", series, x_label="minutes of training", y_range=(0.0, 1.0))


def scaling_plot(rows: list[dict[str, Any]], title: str) -> str:
    """The judge on plain reconstructions, per factor, against training steps on a log axis."""
    series = {a: [(r["step"], r["reconstruction"][a]) for r in rows] for a in rows[0]["reconstruction"]}
    return line_chart(title + " (reconstructions)", series, x_label="training steps (log)", y_range=(0.0, 1.0),
                      log_x=True)  # fmt: skip


def ensure_smoke_data(out: Path) -> tuple[Path, list[Path]]:
    data = out / "shapes"
    if not (data / "meta.json").is_file():
        build_shapes(data, n_train=64, n_test=32, n_frames=4, image_size=32, seed=0)
    judge = out / "judge"
    if not (judge / "config.json").is_file():
        train_and_save(data, judge, JudgeConfig(arch="conv-tcn", image_size=16, width=8, dim_frame=16,
                                                dim_time=16, steps=20, threshold=0.0))  # fmt: skip
    second = out / "judge-lstm"
    if not (second / "config.json").is_file():
        train_and_save(data, second, JudgeConfig(arch="conv-lstm", image_size=16, width=8, dim_frame=16,
                                                 dim_time=16, steps=20, threshold=0.0))  # fmt: skip
    return data, [judge, second]


def chunk_budgets(args: argparse.Namespace) -> list[tuple[float, int | None]]:
    """(minutes, steps) of each training chunk. ``--eval-at`` ends a chunk at each listed step and
    ``--steps`` counts steps in chunks of ``--chunk-steps`` (no clock, as tests need); else
    ``--minutes`` in chunks of ``--eval-every`` minutes, each optionally capped at ``--chunk-steps``."""
    if args.eval_at:
        marks = [0, *args.eval_at]
        return [(0.0, b - a) for a, b in itertools.pairwise(marks)]
    if args.steps:
        size = args.chunk_steps or args.steps
        return [(0.0, min(size, args.steps - done)) for done in range(0, args.steps, size)]
    return [(args.eval_every, args.chunk_steps)] * max(1, round(args.minutes / args.eval_every))


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    out = Path(args.out)
    data, judges = Path(args.data or ""), [Path(j) for j in args.judge or []]
    overrides = list(args.overrides)
    if args.smoke:
        data, judges = ensure_smoke_data(out)
        overrides = ["model.n_frames=4", "model.image_size=32", *SMOKE_MODEL, *overrides]
    info = read_info(data)
    run_dir = out / "run"
    cfg = apply_overrides(get_preset(args.preset), [
        f"data.path={data.resolve()}", f"train.seed={args.seed}", f"model.prior={args.prior}",
        "train.eval_every=1000000", "train.sample_every=0", *overrides,
    ])  # fmt: skip
    eval_cfg = EvalConfig(samples=1, max_sequences=args.eval_sequences, checkpoint="latest", seed=0,
                          min_judge_accuracy=0.0 if args.smoke else None)  # fmt: skip
    rows: list[dict[str, Any]] = []
    trained = 0.0
    for minutes, steps in chunk_budgets(args):
        resume = (run_dir / "config.json").is_file()
        budget = [f"train.max_minutes={minutes}"]
        chunk = resume_config(run_dir, budget) if resume else apply_overrides(cfg, budget)
        t0 = time.time()
        result = Trainer(chunk, run_dir, resume=resume, echo=not args.quiet, max_new_steps=steps).run()
        trained += (time.time() - t0) / 60
        metrics = evaluate(run_dir, judges, eval_cfg)
        rows.append(row_from_metrics(trained, result.step, metrics))
        zero = zero_f_accuracy(run_dir, judges[0], data, args.eval_sequences)
        rows[-1]["zero_f"] = {a: zero[a] for a in rows[-1]["reconstruction"]}
        atomic_write(out / "quality.jsonl", lambda p: p.write_text("".join(json.dumps(r) + "\n" for r in rows)))
        print(json.dumps(rows[-1]), flush=True)
    title = f"{info.name}: preset {args.preset}, prior {args.prior}, seed {args.seed}"
    atomic_write(out / "quality.md", lambda p: p.write_text(markdown(rows, title)))
    atomic_write(out / "quality.svg", lambda p: p.write_text(plot(rows, title)))
    if rows[0]["step"] > 0 and len(rows) > 1:
        atomic_write(out / "scaling.svg", lambda p: p.write_text(scaling_plot(rows, title)))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="a Sprites data folder (`dsvae data sprites`)")
    p.add_argument(
        "--judge",
        action="append",
        help="a judge trained on it (`dsvae judge`); repeat to score with several and compare them",
    )
    p.add_argument("--out", required=True, help="folder for the run and the tables")
    p.add_argument("--preset", default="sprites-cpu")
    p.add_argument("--prior", default="improved", choices=["improved", "lstm"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--minutes", type=float, default=60.0, help="training budget in minutes")
    p.add_argument("--eval-every", type=float, default=5.0, help="minutes of training between evaluations")
    p.add_argument("--eval-sequences", type=int, default=900, help="test sequences scored (0: all 2664)")
    p.add_argument("--steps", type=int, default=0, help="training budget in steps instead of --minutes (0: minutes)")
    p.add_argument(
        "--eval-at",
        type=lambda v: sorted({int(s) for s in v.split(",")}),
        default=None,
        help="evaluate at these steps, e.g. 250,500,1000,2000 (the budget is the last; implies steps)",
    )
    p.add_argument("--chunk-steps", type=int, default=None, help="steps per chunk with --steps; else a cap per chunk")
    p.add_argument("--smoke", action="store_true", help="a seconds-long run on the synthetic set (CI)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    args = p.parse_args(argv)
    if not args.smoke and not (args.data and args.judge):
        p.error("--data and --judge are required (or --smoke)")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        run(args)
    except DSVAEError as e:  # a bad path, config key or value: one line, not a traceback
        print(f"sprites_quality: {e}", file=sys.stderr)
        return 2
    print((Path(args.out) / "quality.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
