"""Two instruments on one shapes run: the trained judge beside the closed-form readers.

    .venv/bin/python benchmarks/shapes_readers.py RUN --judge JUDGE [--data DIR] [--draws 3]

On the shapes set every factor can be read without a trained classifier: the centre of mass
gives the direction and speed, the brightness-weighted mean colour the colour, and least-squares
template matching the shape (``dsvae.data.shapes.read_motion``, ``read_colour``, ``read_shape``).
This prints, for the real test sequences, the reconstructions, "dynamics kept" (f ~ p(f),
z_1:T the posterior mean: motion) and "content kept" (f the posterior mean, z_1:T from the
learned prior: colour and shape), the accuracy
by the judge and by the closed form over the whole test split, and their difference. Where
they differ by more than a few points, look at the pictures before trusting either.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from dsvae import DSVAE
from dsvae.data import open_dataset
from dsvae.data.shapes import read_colour, read_motion, read_shape
from dsvae.errors import DSVAEError
from dsvae.evaluate.judge import Judge
from dsvae.run_folder import read_run_config


def decodes(model: DSVAE, x: torch.Tensor, seed: int) -> list[tuple[str, tuple[str, ...], torch.Tensor]]:
    """(what, the factors it is scored on, the decoded sequences) for the four kinds of sequence."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        post = model.encode(x)
        n = len(x)
        return [
            ("real", ("motion", "colour", "shape"), x),
            ("reconstructed", ("motion", "colour", "shape"), model.decode(post.f_mean, post.z_mean)),
            ("dynamics kept (new f)", ("motion",), model.decode(model.sample_f(n, generator=g), post.z_mean)),
            ("content kept (new z)", ("colour", "shape"), model.decode(post.f_mean, model.sample_z(n, generator=g))),
        ]


def main(argv: list[str] | None = None) -> dict[tuple[str, str], tuple[float, float]]:
    """Print the table; return {(sequences, factor): (judge %, closed form %)}."""
    p = argparse.ArgumentParser(prog="shapes_readers.py", description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("--judge", required=True)
    p.add_argument("--data", default=None, help="the data folder (default: the run's own)")
    p.add_argument("--draws", type=int, default=3)
    args = p.parse_args(argv)
    try:
        data = open_dataset(args.data or read_run_config(args.run).data.path, "test", labelled=True)
        model, judge = DSVAE.from_pretrained(args.run), Judge.load(args.judge)
    except DSVAEError as exc:
        p.error(str(exc))
    if data.info.name != "shapes":
        p.error(f"the closed-form readers know the shapes set only; this data set is {data.info.name!r}")
    names = [f.name for f in data.info.factors]
    readers = {
        "motion": (names.index("motion"), read_motion),
        "colour": (names.index("colour"), read_colour),
        "shape": (names.index("shape"), read_shape),
    }
    x = torch.from_numpy(np.array(data.frames[:])).permute(0, 1, 4, 2, 3).float() / 255
    labels = np.asarray(data.labels[:])
    rows: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for draw in range(args.draws):
        for what, factors, v in decodes(model, x, seed=draw):
            with torch.no_grad():
                probs = judge.probabilities(v)
            arr = v.numpy()
            for factor in factors:
                k, reader = readers[factor]
                by_judge = float((probs[k].argmax(1).numpy() == labels[:, k]).mean())
                by_form = float((reader(arr) == labels[:, k]).mean())
                rows.setdefault((what, factor), []).append((by_judge, by_form))
    print(f"{len(x)} test sequences, {args.draws} draws; accuracy in %")
    print(
        f"| {'sequences':24s} | {'factor':6s} | {'judge':>6s} | {'closed form':>11s} | {'judge - closed form':>19s} |"
    )
    print(f"|{'-' * 26}|{'-' * 8}|{'-' * 8}|{'-' * 13}|{'-' * 21}|")
    table = {}
    for (what, factor), vals in rows.items():
        j, c = (100 * float(np.mean(col)) for col in zip(*vals, strict=True))
        table[what, factor] = (j, c)
        print(f"| {what:24s} | {factor:6s} | {j:6.1f} | {c:11.1f} | {j - c:+19.1f} |")
    return table


if __name__ == "__main__":
    main()
