"""Judges beside a reader that learns nothing: the motion of one Sprites run, read three ways or more.

    .venv/bin/python benchmarks/sprites_readers.py RUN --judge JUDGE [--judge JUDGE2] [--data DIR]
        [--sequences N] [--draws D] [--checkpoint latest|best] [--confusion]

The template reader (``dsvae.evaluate.templates``) reads a sequence's motion from its pose
changes alone, by correlation with the mean changes of each motion in the training split. It
has no weights to train and no seed. This prints its accuracy on the real test sequences first
(the check of the instrument: it should be 100%), then, for the reconstructions, "dynamics
kept" (f ~ p(f), z_1:T the posterior mean) and "zero f" (f = 0, z_1:T the posterior mean), the
motion accuracy by every judge and by the reader, and the largest difference between any two.
Where they differ by more than a few points, look at the pictures before trusting any of them;
``--confusion`` prints, for "dynamics kept", which class each instrument named for each true one.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from dsvae import DSVAE
from dsvae.data import open_dataset
from dsvae.errors import DSVAEError
from dsvae.evaluate.judge import Judge
from dsvae.evaluate.templates import TemplateReader
from dsvae.run_folder import read_run_config

CHUNK = 150  # sequences decoded and read at a time


def decoded(model: DSVAE, x: torch.Tensor, g: torch.Generator) -> dict[str, torch.Tensor]:
    """The three kinds of decoded sequence of x (B, T, C, H, W)."""
    with torch.no_grad():
        post = model.encode(x)
        new_f = model.sample_f(len(x), generator=g)
        return {
            "reconstructed": model.decode(post.f_mean, post.z_mean),
            "dynamics kept (new f)": model.decode(new_f, post.z_mean),
            "zero f": model.decode(torch.zeros_like(post.f_mean), post.z_mean),
        }


def print_table(
    hits: dict[str, dict[str, list[np.ndarray]]], names: list[str], title: str
) -> dict[str, dict[str, float]]:
    """Print {sequences: {instrument: per-batch hit arrays}} as a Markdown table of accuracies (%); return them."""
    table = {
        what: {name: 100 * float(np.concatenate(v).mean()) for name, v in got.items()} for what, got in hits.items()
    }
    print(title)
    print("| sequences | " + " | ".join(names) + " | largest difference |")
    print("|---|" + "---:|" * (len(names) + 1))
    for what, accs in table.items():
        vals = [accs[name] for name in names]
        print(f"| {what} | " + " | ".join(f"{v:.1f}" for v in vals) + f" | {max(vals) - min(vals):.1f} |")
    return table


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Print the table; return {sequences: {instrument: motion accuracy %}}."""
    p = argparse.ArgumentParser(prog="sprites_readers.py", description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("--judge", action="append", default=[], help="a judge folder (repeat for several)")
    p.add_argument("--data", default=None, help="the data folder (default: the run's own)")
    p.add_argument("--sequences", type=int, default=0, help="test sequences, drawn at random (0: all)")
    p.add_argument("--draws", type=int, default=1, help="draws of the new f")
    p.add_argument("--checkpoint", default="latest", choices=("latest", "best"))
    p.add_argument("--factor", default="motion", help="the dynamic factor to read")
    p.add_argument("--confusion", action="store_true", help="print each instrument's confusion on dynamics kept")
    args = p.parse_args(argv)
    try:
        data_dir = args.data or read_run_config(args.run).data.path
        train, test = open_dataset(data_dir, "train", labelled=True), open_dataset(data_dir, "test", labelled=True)
        model = DSVAE.from_pretrained(args.run, checkpoint=args.checkpoint)
        judges = {path: Judge.load(path) for path in args.judge}
        reader = TemplateReader.fit(train, args.factor)
    except DSVAEError as exc:
        p.error(str(exc))
    model.eval()
    k = [f.name for f in test.info.factors].index(args.factor)
    labels = np.asarray(test.labels[:, k])
    n = len(test) if args.sequences <= 0 else min(args.sequences, len(test))
    rows = np.sort(np.random.default_rng(0).choice(len(test), n, replace=False))
    real = np.concatenate([reader.read(test.get_batch(rows[s : s + CHUNK])["x"]) for s in range(0, n, CHUNK)])
    print(f"template reader on {n} real test sequences: {100 * (real == labels[rows]).mean():.2f}%")

    names = ["template reader", *judges]
    hits: dict[str, dict[str, list[np.ndarray]]] = {}
    named: dict[str, list[np.ndarray]] = {name: [] for name in names}  # dynamics kept: the class each one named
    for draw in range(args.draws):
        g = torch.Generator().manual_seed(draw)
        for s in range(0, n, CHUNK):
            b = test.get_batch(rows[s : s + CHUNK])
            y = labels[rows[s : s + CHUNK]]
            for what, v in decoded(model, b["x"], g).items():
                got = hits.setdefault(what, {name: [] for name in names})
                read = {"template reader": reader.read(v)}
                for path, judge in judges.items():
                    with torch.no_grad():
                        read[path] = judge.probabilities(v)[k].argmax(1).numpy()
                for name, pred in read.items():
                    got[name].append(pred == y)
                    if what.startswith("dynamics kept"):
                        named[name].append(pred)
    table = print_table(hits, names, f"{args.factor} accuracy in %, {n} test sequences, {args.draws} draw(s) of f")
    if args.confusion:
        classes = test.info.factors[k].classes
        truth = np.tile(labels[rows], args.draws)
        for name in names:
            pred = np.concatenate(named[name])
            counts = np.zeros((len(classes), len(classes) + 1), dtype=int)  # the last column: left unread
            np.add.at(counts, (truth, np.where(pred < 0, len(classes), pred)), 1)
            print(f"\ndynamics kept, {name}: rows the true {args.factor}, columns the one named")
            print("| true | " + " | ".join(classes) + " | unread |")
            print("|---|" + "---:|" * (len(classes) + 1))
            for c, row in zip(classes, counts, strict=True):
                print(f"| {c} | " + " | ".join(str(n) for n in row) + " |")
    return table


if __name__ == "__main__":
    main()
