"""The paper's other experiments: speaker identity on spoken digits (FSDD) and Moving MNIST both ways.

One command per experiment goes from a data folder to a table: train the preset (or take a
trained run with ``--run``), train the default judge (or take one or several with ``--judge``),
score the run with ``dsvae evaluate``'s protocol and write ``OUT/table.md`` and
``OUT/results.json``. With several judges the table has a block for each and ends with their
largest disagreement; results.json holds the first judge's figures at the top level and every
judge's under ``by_judge``.

- ``fsdd``: speaker verification from the cosine similarity of posterior means, EER with f and
  with z averaged over time (the test of Li & Mandt 2018), on every pair of test recordings and
  on the harder "cross-digit" pairs only (two recordings of different digits, so a shared word
  cannot make two z look alike; FSDD has 6 speakers, TIMIT 630); the digit judge with f
  resampled (dynamics kept) and the speaker judge with z resampled (content kept).
- ``moving-mnist``: the direction with f resampled (dynamics kept), the digit with z resampled
  (content kept), the judge on reconstructions (the ceiling) and the swap (f of A with z of B).
  Build the data with ``--digits 1``: two digits are overlaid by a pixel-wise maximum, which
  is the same picture whichever slot a digit is in, so no judge can tell ``digit_0`` from
  ``digit_1`` (nor ``direction_0`` from ``direction_1``) better than about half the time.

Example (the figures of docs/results.md)::

    python benchmarks/other_experiments.py fsdd --data data/fsdd --out runs/fsdd-bench \
        --minutes 30 --steps 17000 --judge-steps 6000 --min-judge-accuracy 0.95
    dsvae data moving-mnist --digits 1 --out data/mmnist1
    python benchmarks/other_experiments.py moving-mnist --data data/mmnist1 --out runs/mm-bench \
        --minutes 42 --steps 5500 --judge-steps 6000 --judge-set=arch=conv-lstm --judge-set=image_size=32 \
        --min-judge-accuracy 0.8 --eval-sequences 1000 train.eval_every=1000 train.checkpoint_every=1000

``--smoke`` runs a seconds-long version on tiny synthetic files written into OUT (what CI runs).
"""

from __future__ import annotations

import argparse
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dsvae.config import apply_overrides
from dsvae.data import build_fsdd, build_moving_mnist, open_dataset, read_info
from dsvae.errors import DSVAEError
from dsvae.evaluate import scores
from dsvae.evaluate.judge import JudgeConfig
from dsvae.evaluate.judge_train import train_and_save
from dsvae.evaluate.protocol import EvalConfig, evaluate, write_evaluation
from dsvae.io import atomic_write, write_json
from dsvae.model import DSVAE
from dsvae.presets import get_preset
from dsvae.train.loop import Trainer

EXPERIMENTS = ("fsdd", "moving-mnist")
# published speaker-verification EERs on TIMIT (%): the papers' table entries as later work repeats them
TIMIT_EER = [
    ("FHVAE (Hsu et al. 2017)", "5.06", "-"),
    ("DSVAE (Li & Mandt 2018)", "4.82", "18.89"),
    ("C-DSVAE (Bai et al. 2021)", "4.03", "31.81"),
]
SMOKE_MODEL = ["model.dim_z=4", "model.dim_f=8", "model.dim_h=16", "model.dim_hidden=32",
               "train.batch_size=8", "train.warmup_steps=2"]  # fmt: skip
SMOKE_DATA = {"fsdd": ["model.n_frames=8", "model.frame_dim=16"], "moving-mnist": ["model.n_frames=4",
              "model.n_channels=8"]}  # fmt: skip
SMOKE_JUDGE = JudgeConfig(width=4, dim_frame=8, dim_time=8, steps=10, threshold=0.0, robust_threshold=0.0)


def mean(node: Any) -> float:
    """A metric that is either a plain number or a {"mean", "std"} over draws."""
    return float(node["mean"]) if isinstance(node, dict) else float(node)


# -- the smoke test's data: tiny synthetic source files, built by the real builders ----------


def write_fake_recordings(folder: Path, n_digits: int = 2, speakers: tuple[str, ...] = ("ann", "bob"),
                          n_index: int = 7) -> Path:  # fmt: skip
    """FSDD-named 8 kHz wav files: each speaker a pitch, each digit a rising or falling sweep."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(1600) / 8000.0  # 0.2 s
    for d in range(n_digits):
        for s, who in enumerate(speakers):
            for i in range(n_index):
                sweep = 300.0 * (1 if d % 2 else -1) * t / t[-1]
                tone = np.sin(2 * np.pi * np.cumsum(200.0 * (s + 1) + 100.0 * d + sweep) / 8000.0)
                pcm = np.round(0.5 * tone * 32767 * (1 + 0.01 * i)).clip(-32768, 32767).astype("<i2")
                with wave.open(str(folder / f"{d}_{who}_{i}.wav"), "wb") as w:
                    w.setnchannels(1)
                    w.setsampwidth(2)
                    w.setframerate(8000)
                    w.writeframes(pcm.tobytes())
    return folder


def write_fake_mnist(folder: Path, n: int = 60) -> Path:
    """Gzipped idx files of n 28x28 images per split: image i is a bar at row 2 * (i % 10) of label i % 10."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i, y in enumerate(labels):
        images[i, 4 + 2 * y : 8 + 2 * y, 4:24] = 255
    for split in ("train", "t10k"):
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
            (folder / f"{split}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes()))
    return folder


def smoke_data(kind: str, out: Path) -> Path:
    data = out / "data"
    if (data / "meta.json").is_file():
        return data
    if kind == "fsdd":
        return build_fsdd(data, write_fake_recordings(out / "sources"), n_frames=8, n_mels=16)
    return build_moving_mnist(data, write_fake_mnist(out / "sources"), n_train=32, n_test=32, n_frames=4,
                              n_digits=1, verify=False)  # fmt: skip


# -- the harder verification protocol --------------------------------------------------------


@torch.no_grad()
def cross_factor_eer(run: Path, data: Path, speaker: str, other: str, checkpoint: str = "best") -> dict[str, Any]:
    """EER of "same speaker" with f and with mean z over the test pairs whose ``other`` factor differs.

    A same-speaker pair saying the same digit can look alike in z because of the word alone; with
    only cross-digit pairs left, z has to carry the voice to verify it.
    """
    model = DSVAE.from_pretrained(run, checkpoint=checkpoint)  # in eval mode
    ds = open_dataset(data, "test")
    names = [f.name for f in ds.info.factors]
    s, o = names.index(speaker), names.index(other)
    f, z = [], []
    for start in range(0, len(ds), 64):
        post = model.encode(ds.get_batch(np.arange(start, min(len(ds), start + 64)))["x"])
        f.append(post.f_mean)
        z.append(post.z_mean.mean(1))  # (B, T, Z) -> (B, Z)
    labels = np.asarray(ds.labels)
    out: dict[str, Any] = {"factor": speaker, "pairs_differ_in": other}
    for name, v in (("f", torch.cat(f)), ("z", torch.cat(z))):
        sims, same = scores.cosine_pairs(v.numpy(), labels[:, s])
        _, same_other = scores.cosine_pairs(v.numpy(), labels[:, o])
        keep = ~same_other
        out[f"eer_{name}"] = scores.equal_error_rate(sims[keep], same[keep])
        out["n_pairs"] = int(keep.sum())
    return out


# -- the tables ------------------------------------------------------------------------------


def pct(v: float) -> str:
    return f"{100 * v:.1f}"


def fsdd_rows(m: dict[str, Any], hard: dict[str, Any]) -> dict[str, Any]:
    v = m["verification"]
    return {
        "eer_f": mean(v["eer_f"]), "eer_z": mean(v["eer_z"]), "pairs": v["n_pairs"],
        "eer_f_cross_digit": hard["eer_f"], "eer_z_cross_digit": hard["eer_z"], "cross_digit_pairs": hard["n_pairs"],
        "dynamics_kept_digit": mean(m["content_resampled"]["accuracy"]["digit"]),
        "content_kept_speaker": mean(m["dynamics_resampled"]["accuracy"]["speaker"]),
    }  # fmt: skip


def fsdd_table(r: dict[str, Any]) -> list[str]:
    lines = ["| model (data) | EER with f % | EER with z % |", "|---|---|---|"]
    lines += [f"| {name} (TIMIT, published) | {f} | {z} |" for name, f, z in TIMIT_EER]
    lines.append(f"| this run (FSDD, all {r['pairs']} test pairs) | {pct(r['eer_f'])} | {pct(r['eer_z'])} |")
    lines.append(f"| this run (FSDD, {r['cross_digit_pairs']} cross-digit pairs) | {pct(r['eer_f_cross_digit'])} | "
                 f"{pct(r['eer_z_cross_digit'])} |")  # fmt: skip
    lines += ["", "| test | judge head | accuracy % |", "|---|---|---|",
              f"| dynamics kept (f resampled) | digit | {pct(r['dynamics_kept_digit'])} |",
              f"| content kept (z resampled) | speaker | {pct(r['content_kept_speaker'])} |"]  # fmt: skip
    return lines


def mmnist_rows(m: dict[str, Any]) -> dict[str, Any]:
    dyn = [f for f in m["factors"]["names"] if f not in m["factors"]["static"]]
    static = m["factors"]["static"]
    heads = [*dyn, *static]
    return {
        "dynamics_kept": {h: mean(m["content_resampled"]["accuracy"][h]) for h in dyn},
        "content_kept": {**{h: mean(m["dynamics_resampled"]["accuracy"][h]) for h in static},
                         "all": mean(m["dynamics_resampled"]["joint_static_accuracy"])},
        "real": {h: mean(m["real"]["accuracy"][h]) for h in heads},
        "reconstruction": {h: mean(m["reconstruction"]["accuracy"][h]) for h in heads},
        "swap_follows_f": {h: mean(m["swap"]["vs_content_source"][h]) for h in heads},
        "swap_follows_z": {h: mean(m["swap"]["vs_dynamics_source"][h]) for h in heads},
    }  # fmt: skip


def mmnist_table(r: dict[str, Any]) -> list[str]:
    dyn, static = list(r["dynamics_kept"]), list(r["content_kept"])
    lines = ["| test | " + " | ".join(dyn + static) + " |", "|---|" + "---|" * (len(dyn) + len(static))]
    lines.append("| dynamics kept (f resampled) | " + " | ".join(pct(r["dynamics_kept"][h]) for h in dyn)
                 + " |" + " - |" * len(static))  # fmt: skip
    lines.append("| content kept (z resampled) |" + " - |" * len(dyn) + " "
                 + " | ".join(pct(r["content_kept"][h]) for h in static) + " |")  # fmt: skip
    heads = list(r["reconstruction"])
    lines += ["", "| judge on | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for key, label in (("real", "real test sequences"), ("reconstruction", "reconstructions (ceiling)"),
                       ("swap_follows_f", "swap: agrees with A (gave f)"),
                       ("swap_follows_z", "swap: agrees with B (gave z)")):  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(pct(r[key][h]) for h in heads) + " |")
    return lines


# -- the pipeline ----------------------------------------------------------------------------


def train(args: argparse.Namespace, data: Path, out: Path) -> Path:
    run_dir = out / "run"
    overrides = [f"data.path={data.resolve()}", f"train.max_minutes={args.minutes}", "train.sample_every=0"]
    if args.steps:
        overrides.append(f"train.max_steps={args.steps}")
    if args.smoke:
        overrides += [*SMOKE_MODEL, *SMOKE_DATA[args.experiment], "train.eval_every=1000000", "train.tensorboard=false"]
    cfg = apply_overrides(get_preset(args.experiment), [*overrides, *args.overrides])
    Trainer(cfg, run_dir, echo=not args.quiet).run()
    return run_dir


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    data = smoke_data(args.experiment, out) if args.smoke else Path(args.data)
    info = read_info(data)
    run_dir = Path(args.run) if args.run else train(args, data, out)
    judges = [Path(j) for j in args.judge] if args.judge else [out / "judge"]
    if not args.judge:  # the package's default judge (--judge-set=arch=conv-tcn and so on to change it)
        base = SMOKE_JUDGE if args.smoke else JudgeConfig(steps=args.judge_steps)
        cfg = apply_overrides(base, args.judge_set)
        train_and_save(data, judges[0], cfg, log=None if args.quiet else print)
    eval_cfg = EvalConfig(samples=args.samples, max_sequences=args.eval_sequences, seed=0,
                          min_judge_accuracy=0.0 if args.smoke else args.min_judge_accuracy)  # fmt: skip
    metrics = evaluate(run_dir, [*judges], eval_cfg, data_dir=data, log=None if args.quiet else print)
    write_evaluation(run_dir, metrics, out / "eval")
    hard = None
    if args.experiment == "fsdd":
        hard = cross_factor_eer(run_dir, data, metrics["verification"]["factor"], metrics["factors"]["dynamic"])
    by_judge = metrics.get("by_judge") or {metrics["judge"]["name"]: {}}
    rows: dict[str, Any] = {}
    lines: list[str] = []
    for info_j, (label, scores_j) in zip(metrics["judges"], by_judge.items(), strict=True):
        view = {**metrics, **scores_j}  # this judge's figures; the verification does not use a judge
        rows[label] = fsdd_rows(view, hard) if hard is not None else mmnist_rows(view)
        lines += [f"### {info.name}: run {run_dir}, judge {info_j['path']} ({info_j['arch']})", ""]
        lines += [*(fsdd_table(rows[label]) if hard is not None else mmnist_table(rows[label])), ""]
    result: dict[str, Any] = {"run": str(run_dir.resolve()), "judge": str(judges[0].resolve()),
                              **next(iter(rows.values()))}  # fmt: skip
    if len(judges) > 1:
        worst = metrics["agreement"]["max_disagreement"]
        result["by_judge"] = rows
        result["max_disagreement"] = worst
        tolerance = pct(metrics["agreement"]["tolerance"])
        flagged = ", ".join(f"{r['figure']} ({pct(r['spread'])})" for r in metrics["agreement"]["flagged"])
        lines.append(f"Largest disagreement between the judges: {worst['figure']}, {pct(worst['spread'])} points. "
                     f"Over {tolerance} points: {flagged or 'none'}.")  # fmt: skip
    write_json(out / "results.json", result)
    text = "\n".join(lines).rstrip("\n") + "\n"
    atomic_write(out / "table.md", lambda p: p.write_text(text))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", choices=EXPERIMENTS)
    p.add_argument("--data", help="the data folder (`dsvae data fsdd` or `dsvae data moving-mnist`)")
    p.add_argument("--out", required=True, help="folder for the run, the judge and the table (new)")
    p.add_argument("--run", help="score this trained run instead of training one")
    p.add_argument(
        "--judge",
        action="append",
        default=[],
        help="score with this judge (`dsvae judge`) instead of training one; repeat for several",
    )
    p.add_argument("--minutes", type=float, default=30.0, help="wall-clock training budget (0: no limit)")
    p.add_argument("--steps", type=int, default=0, help="train.max_steps (0: the preset's)")
    p.add_argument("--judge-steps", type=int, default=JudgeConfig.steps, help="optimisation steps of the judge")
    p.add_argument(
        "--judge-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a judge config override when training one, e.g. arch=conv-lstm (repeatable)",
    )
    p.add_argument("--min-judge-accuracy", type=float, help="accept a judge whose worst head reaches it")
    p.add_argument("--samples", type=int, default=3, help="draws of each random test")
    p.add_argument("--eval-sequences", type=int, default=0, help="score a subset of the test split (0: all)")
    p.add_argument("--smoke", action="store_true", help="a seconds-long run on tiny synthetic files (CI)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="run config overrides, e.g. train.lr=1e-3")
    args = p.parse_intermixed_args(argv)  # KEY=VALUE overrides may follow the options
    if not args.smoke and not args.data:
        p.error("--data is required (or --smoke)")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        run(args)
    except DSVAEError as e:  # a bad path, config key or value: one line, not a traceback
        print(f"other_experiments: error: {e}", file=sys.stderr)
        return 2
    print((Path(args.out) / "table.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
