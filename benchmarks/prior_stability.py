"""How much do the figures move from seed to seed? A grid of priors x precisions x seeds, trained alike.

First built to ask whether the note's prior network is more stable than the paper's plain
LSTM prior (``--priors improved,lstm``); ``--precisions fp32,bf16`` asks the same of the
training precision (the spread study: which latent takes the motion can differ from run to
run). Runs ``sprites_quality.py`` once per (prior, precision, seed) with the same budget and
settings, then
summarises every run's last evaluation, its training health (steps skipped for a non-finite
loss, how the run stopped, the largest gradient norm, loss spikes) and, per prior, the mean
and spread (sample standard deviation) over seeds. Writes ``OUT/stability.json`` and
``OUT/stability.md``; each run keeps its own folder ``OUT/<prior>-s<seed>`` (with several
precisions ``OUT/<prior>-<precision>-s<seed>``; a finished run is reused, so an interrupted
study picks up where it stopped). Examples::

    python benchmarks/prior_stability.py --data data/sprites --judge judges/sprites \\
        --out runs/stability --minutes 8 --seeds 0,1,2 --parallel 2
    python benchmarks/prior_stability.py --data data/sprites --judge judges/default --judge judges/lstm \\
        --out runs/spread --priors improved --precisions fp32,bf16 --steps 3000 --seeds 0,1,2

With ``--parallel 2`` two runs share the machine at a time, each with half of the CPU threads;
runs in the same pair see the same conditions. ``--smoke`` is the seconds-long CI version.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dsvae.io import atomic_write
from dsvae.run_folder import read_metrics
from dsvae.tables import Heading, Paragraph, Table, to_markdown

QUALITY = Path(__file__).resolve().parent / "sprites_quality.py"
SPIKE = 1.25  # a logged training loss this many times the lowest so far counts as a spike
SETTLED = 0.2  # spikes are counted after this fraction of the run's steps


def health(run_dir: Path) -> dict[str, Any]:
    """Training health of one run from its summary and train metrics."""
    summary = json.loads((run_dir / "summary.json").read_text())
    train = [r for r in read_metrics(run_dir) if r.get("split") == "train"]
    spikes, lowest = 0, float("inf")
    settled = SETTLED * summary["step"]
    for r in train:
        if r["step"] >= settled and r["loss"] > SPIKE * lowest:
            spikes += 1
        lowest = min(lowest, r["loss"])
    return {
        "stopped": summary["stopped"],
        "skipped_steps": summary["skipped_steps"],
        "max_grad_norm": max((r["grad_norm"] for r in train), default=float("nan")),
        "loss_spikes": spikes,
    }


def label(prior: str, precision: str | None) -> str:
    """A group of runs (the seeds of one setting): the prior, and the precision when the study varies it."""
    return prior if precision is None else f"{prior}/{precision}"


def run_one(
    args: argparse.Namespace, prior: str, precision: str | None, seed: int, threads: int
) -> tuple[Path, str | None]:
    """Train and score one run; returns its folder and, if it failed (e.g. diverged), the error line."""
    out = Path(args.out) / (f"{prior}-s{seed}" if precision is None else f"{prior}-{precision}-s{seed}")
    if (out / "quality.md").is_file():
        return out, None  # finished before
    cmd = [sys.executable, str(QUALITY), "--out", str(out), "--prior", prior, "--seed", str(seed),
           "--minutes", str(args.minutes), "--eval-every", str(args.eval_every or args.minutes),
           "--eval-sequences", str(args.eval_sequences), "--threads", str(threads), "--quiet",
           "--steps", str(args.steps)]  # fmt: skip
    if args.smoke:
        cmd += ["--smoke", "--chunk-steps", str(args.chunk_steps or 3)]
    else:
        cmd += ["--data", args.data]
        for judge in args.judge:
            cmd += ["--judge", judge]
        if args.chunk_steps:
            cmd += ["--chunk-steps", str(args.chunk_steps)]
    overrides = [*args.overrides] + ([] if precision is None else [f"train.precision={precision}"])
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "stdout.log", "w") as log:
        done = subprocess.run([*cmd, *overrides], stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        lines = (out / "stdout.log").read_text().strip().splitlines() or [f"exit status {done.returncode}"]
        return out, lines[-1]
    return out, None


def run_row(out: Path, prior: str, seed: int, error: str | None, precision: str | None = None) -> dict[str, Any]:
    """One run's last evaluation and health; a failed run (e.g. a non-finite loss) keeps its error."""
    group = label(prior, precision)
    if error is not None:
        return {"prior": group, "seed": seed, "stopped": f"failed: {error}", "skipped_steps": 0,
                "max_grad_norm": float("nan"), "loss_spikes": 0, "last": None}  # fmt: skip
    last = json.loads((out / "quality.jsonl").read_text().splitlines()[-1])
    return {"prior": group, "seed": seed, **health(out / "run"), "last": last}


def flat(last: dict[str, Any]) -> dict[str, float]:
    """The numbers compared across seeds, from a ``sprites_quality`` row."""
    d = last["dynamics_kept"]
    values = {"step": last["step"], "dyn_acc": d["accuracy"], "is": d["is"], "h_y_given_x": d["h_y_given_x"],
              "h_y": d["h_y"]}  # fmt: skip
    values |= {f"content_{a}": v for a, v in last["content_kept"].items()}
    values |= {"test_elbo": last["test_elbo"], "kl_f": last["kl_f"], "kl_z": last["kl_z"]}
    for key in ("swap_follows_f", "swap_follows_z", "zero_f"):  # where each factor sits (rows of older runs lack some)
        values |= {f"{key}_{a}": v for a, v in last.get(key, {}).items()}
    return values


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per prior: mean and sample std over seeds of every compared number, and health totals."""
    out: dict[str, Any] = {}
    for prior in dict.fromkeys(r["prior"] for r in rows):
        runs = [r for r in rows if r["prior"] == prior]
        values = [flat(r["last"]) for r in runs if r["last"] is not None]
        stats = {}
        for key in values[0] if values else []:
            xs = [v[key] for v in values if key in v]
            stats[key] = {"mean": statistics.fmean(xs), "std": statistics.stdev(xs) if len(xs) > 1 else 0.0,
                          "min": min(xs), "max": max(xs)}  # fmt: skip
        out[prior] = {
            "seeds": [r["seed"] for r in runs],
            "stats": stats,
            "skipped_steps": sum(r["skipped_steps"] for r in runs),
            "loss_spikes": sum(r["loss_spikes"] for r in runs),
            "not_finished": [r["seed"] for r in runs if r["stopped"] not in ("budget", "finished", "steps")],
            "max_grad_norm": max((r["max_grad_norm"] for r in runs if r["last"] is not None), default=float("nan")),
        }
    return out


def markdown(rows: list[dict[str, Any]], summary: dict[str, Any], title: str) -> str:
    done = [r for r in rows if r["last"] is not None]
    static = [a for a in done[0]["last"]["content_kept"] if a != "all"] if done else []
    pct = lambda v: f"{100 * v:.1f}"  # noqa: E731
    # where the dynamic factor sits: with f = 0 (z alone), and in the swap (follows f, or z)
    first = done[0]["last"] if done else {}
    dyn = next(iter(first["zero_f"])) if "zero_f" in first else None
    sits = [f"zero_f_{dyn}", f"swap_follows_f_{dyn}", f"swap_follows_z_{dyn}"] if dyn else []
    sits_head = [f"zero f: {dyn} %", f"swap: {dyn} follows f %", f"swap: {dyn} follows z %"] if dyn else []
    head = ["prior", "seed", "steps", "dyn kept Acc %", "IS"] + [f"content kept: {a} %" for a in static]
    runs = Table([*head, "all %", *sits_head, "test ELBO", "KL f", "KL z", "skipped", "spikes", "max grad norm"])
    for r in rows:
        if r["last"] is None:
            runs.rows.append([r["prior"], str(r["seed"]), r["stopped"], *[""] * (len(runs.header) - 3)])
            continue
        v = flat(r["last"])
        cells = [r["prior"], str(r["seed"]), str(v["step"]), pct(v["dyn_acc"]), f"{v['is']:.3f}"]
        cells += [pct(v[f"content_{a}"]) for a in [*static, "all"]]
        cells += [pct(v[k]) if k in v else "" for k in sits]
        cells += [f"{v['test_elbo']:.1f}", f"{v['kl_f']:.1f}", f"{v['kl_z']:.1f}", str(r["skipped_steps"]),
                  str(r["loss_spikes"]), f"{r['max_grad_norm']:.0f}"]  # fmt: skip
        runs.rows.append(cells)
    keys = ["dyn_acc", "is", *[f"content_{a}" for a in [*static, "all"]], *sits, "test_elbo"]
    seeds = Table(["prior", *keys, "skipped steps", "spikes", "runs not finished"])
    for prior, s in summary.items():
        if not s["stats"]:
            seeds.rows.append([prior, *[""] * len(keys), str(s["skipped_steps"]), str(s["loss_spikes"]), "all"])
            continue
        cells = []
        for key in keys:
            st, scale = s["stats"].get(key), (1 if key in ("is", "test_elbo") else 100)
            if st is None:
                cells.append("")
                continue
            cells.append(f"{scale * st['mean']:.1f} ± {scale * st['std']:.1f} ({scale * st['min']:.1f}–"
                         f"{scale * st['max']:.1f})")  # fmt: skip
        cells += [str(s["skipped_steps"]), str(s["loss_spikes"]), str(len(s["not_finished"]))]
        seeds.rows.append([prior, *cells])
    note = (f"A spike is a logged training loss above {SPIKE}x the lowest logged so far, counted after the "
            f"first {SETTLED:.0%} of the run's steps.")  # fmt: skip
    return to_markdown([Heading(title, 3), runs, Paragraph("Mean ± sample std over seeds (min–max):"), seeds,
                        Paragraph(note)])  # fmt: skip


def usable_cpus() -> int:
    """The CPUs this process may run on (``taskset`` narrows them), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="a Sprites data folder (`dsvae data sprites`)")
    p.add_argument("--judge", action="append", help="a judge trained on it (`dsvae judge`); repeat for several")
    p.add_argument("--out", required=True)
    p.add_argument("--priors", default="improved,lstm")
    p.add_argument("--precisions", default="", help="e.g. fp32,bf16: also vary train.precision (default: as set)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--minutes", type=float, default=8.0, help="training budget of each run")
    p.add_argument("--steps", type=int, default=0, help="budget of each run in steps instead of minutes (0: minutes)")
    p.add_argument("--eval-every", type=float, default=0.0, help="minutes between evaluations (0: once, at the end)")
    p.add_argument("--eval-sequences", type=int, default=450)
    p.add_argument("--parallel", type=int, default=1, help="runs at a time; CPU threads are split between them")
    p.add_argument("--chunk-steps", type=int, default=None)
    p.add_argument("--smoke", action="store_true", help="a seconds-long version on the synthetic set (CI)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    args = p.parse_args(argv)
    if not args.smoke and not (args.data and args.judge):
        p.error("--data and --judge are required (or --smoke)")
    priors, seeds = args.priors.split(","), [int(s) for s in args.seeds.split(",")]
    precisions: list[str | None] = list(args.precisions.split(",")) if args.precisions else [None]
    # pairs run two settings of one seed side by side
    jobs = [(prior, precision, seed) for seed in seeds for prior in priors for precision in precisions]
    threads = max(1, usable_cpus() // args.parallel)
    with ThreadPoolExecutor(args.parallel) as pool:
        outs = list(pool.map(lambda job: run_one(args, *job, threads), jobs))
    rows = [run_row(out, prior, seed, error, precision)
            for (out, error), (prior, precision, seed) in zip(outs, jobs, strict=True)]  # fmt: skip
    summary = summarise(rows)
    budget = f"{args.steps} steps" if args.steps else f"{args.minutes:g} min"
    title = f"seed spread: {budget} per run, seeds {args.seeds}, {args.parallel} run(s) at a time"
    out = Path(args.out)
    atomic_write(out / "stability.json", lambda f: f.write_text(json.dumps({"runs": rows, "summary": summary},
                                                                            indent=1)))  # fmt: skip
    atomic_write(out / "stability.md", lambda f: f.write_text(markdown(rows, summary, title)))
    print((out / "stability.md").read_text())
    failed = [r for r in rows if r["last"] is None]
    for r in failed:
        print(f"{r['prior']} seed {r['seed']}: {r['stopped']}", file=sys.stderr)
    return 1 if len(failed) == len(rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
