"""Judges beside a reader that learns nothing: the direction of one Moving MNIST run (one digit a canvas).

    .venv/bin/python benchmarks/mmnist_readers.py RUN --judge JUDGE [--judge JUDGE2] [--data DIR]
        [--sequences N] [--checkpoint best|latest]

The centroid reader reads the initial direction from the digit's centre of mass frame by frame,
in closed form: for each axis the speed is the median step (a bounce shortens or reverses only
the step it falls in), the velocity is the mean step over the first run of full steps in one
direction, turned back if a bounce fell inside the first step, and the direction is the compass
sector of the two axes' velocities, as the data set labels it. It has no weights and no seed.
This prints its accuracy on the real test sequences first (its own ceiling: positions are whole
pixels and the label is the sector of a continuous angle, so sequences near a sector's edge are
ambiguous to any instrument), then the direction accuracy of every judge and of the reader on
the reconstructions, on "dynamics kept" (f ~ p(f), z_1:T the posterior mean) and on "zero f".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from dsvae import DSVAE
from dsvae.data import open_dataset
from dsvae.data.moving_mnist import COMPASS
from dsvae.errors import DSVAEError
from dsvae.evaluate.judge import Judge
from dsvae.run_folder import read_run_config

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a sibling script, not a package
from sprites_readers import CHUNK, decoded, print_table

FAINT = 0.2  # pixels below this fraction of a frame's brightest are background (a decoder's grey haze)


def centroids(x: torch.Tensor) -> np.ndarray:
    """(B, T, C, H, W) frames -> (B, T, 2) (y, x) centres of mass of the bright pixels."""
    v = x.detach().float().clamp(0, 1).mean(2)  # (B, T, H, W)
    v = torch.where(v > FAINT * v.amax((2, 3), keepdim=True), v, torch.zeros_like(v))
    mass = v.sum((2, 3)).clamp_min(1e-6)
    h, w = v.shape[-2:]
    cy = (v * torch.arange(h, dtype=v.dtype).view(h, 1)).sum((2, 3)) / mass
    cx = (v * torch.arange(w, dtype=v.dtype).view(1, w)).sum((2, 3)) / mass
    return torch.stack([cy, cx], -1).numpy()


def axis_velocity(steps: np.ndarray) -> float:
    """The initial velocity along one axis from its T-1 steps (pixels a frame, bounces off two walls)."""
    speed = float(np.median(np.abs(steps)))
    full = np.abs(steps) >= speed - 1.0  # whole-pixel positions: a step may be a pixel short of the speed
    first = 0 if full[0] else 1  # a short first step: the bounce fell inside it
    if first >= len(steps):
        return float(steps[0])
    end = first
    while end < len(steps) and full[end] and np.sign(steps[end]) == np.sign(steps[first]):
        end += 1
    run = float(steps[first : max(end, first + 1)].mean())
    return run if first == 0 else -run


def read_direction(x: torch.Tensor) -> np.ndarray:
    """(B, T, C, H, W) frames of one digit -> (B,) compass sector of its initial direction (index into COMPASS)."""
    steps = np.diff(centroids(x), axis=1)  # (B, T-1, 2)
    vy = np.array([axis_velocity(s) for s in steps[:, :, 0]])
    vx = np.array([axis_velocity(s) for s in steps[:, :, 1]])
    angle = np.arctan2(-vy, vx)  # counter-clockwise from east, as the data set's labels; image y points down
    return np.rint(angle / (2 * np.pi / len(COMPASS))).astype(np.int64) % len(COMPASS)


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Print the table; return {sequences: {instrument: direction accuracy %}}."""
    p = argparse.ArgumentParser(prog="mmnist_readers.py", description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("--judge", action="append", default=[], help="a judge folder (repeat for several)")
    p.add_argument("--data", default=None, help="the data folder (default: the run's own)")
    p.add_argument("--sequences", type=int, default=1000, help="test sequences, drawn at random (0: all)")
    p.add_argument("--checkpoint", default="best", choices=("latest", "best"))
    args = p.parse_args(argv)
    try:
        data_dir = args.data or read_run_config(args.run).data.path
        test = open_dataset(data_dir, "test", labelled=True)
        names = [f.name for f in test.info.factors]
        if names.count("direction_0") != 1 or "direction_1" in names:
            raise DSVAEError(f"{data_dir} is not a one-digit Moving MNIST folder (build it with --digits 1)")
        model = DSVAE.from_pretrained(args.run, checkpoint=args.checkpoint)
        judges = {path: Judge.load(path) for path in args.judge}
    except DSVAEError as exc:
        p.error(str(exc))
    model.eval()
    k = names.index("direction_0")
    labels = np.asarray(test.labels[:, k])
    n = len(test) if args.sequences <= 0 else min(args.sequences, len(test))
    rows = np.sort(np.random.default_rng(0).choice(len(test), n, replace=False))
    real = np.concatenate([read_direction(test.get_batch(rows[s : s + CHUNK])["x"]) for s in range(0, n, CHUNK)])
    print(f"centroid reader on {n} real test sequences: {100 * (real == labels[rows]).mean():.2f}%")

    instruments = ["centroid reader", *judges]
    hits: dict[str, dict[str, list[np.ndarray]]] = {}
    g = torch.Generator().manual_seed(0)
    for s in range(0, n, CHUNK):
        b = test.get_batch(rows[s : s + CHUNK])
        y = labels[rows[s : s + CHUNK]]
        for what, v in decoded(model, b["x"], g).items():
            got = hits.setdefault(what, {name: [] for name in instruments})
            got["centroid reader"].append(read_direction(v) == y)
            for path, judge in judges.items():
                with torch.no_grad():
                    got[path].append(judge.probabilities(v)[k].argmax(1).numpy() == y)
    return print_table(hits, instruments, f"direction accuracy in %, {n} test sequences, 1 draw of f")


if __name__ == "__main__":
    main()
