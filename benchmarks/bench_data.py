"""Data benchmark: the Sprites build time and loader throughput on the built folder.

    .venv/bin/python benchmarks/bench_data.py [--sheets DIR] [--out DIR] [--batches N]

Prints a table: the full Sprites build (seconds), then sequences per second read from its
training split (batch 16, shuffled) by a DataLoader over the Dataset with 0 and 2 workers,
both item by item (``batch_size=16``) and batch by batch (``batch_size=None`` with a
``BatchSampler``: one read per batch, no collation), and by ``get_batch``. The sheets default
to ../shared/data/lpc-sprites beside the checkout (or $DSVAE_SHARED_DATA/lpc-sprites); the
folder is built in a temporary directory unless --out is given.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from torch.utils.data import BatchSampler, DataLoader, RandomSampler

from dsvae.data import build_sprites, open_dataset

SHARED_DATA = Path(os.environ.get("DSVAE_SHARED_DATA", Path(__file__).resolve().parents[1] / "../shared/data"))
BATCH = 16


def loader_rate(root: Path, workers: int, batches: int, batched: bool) -> float:
    """Sequences per second through a shuffled DataLoader (the first batch, worker start-up, excluded)."""
    data = open_dataset(root, "train")
    if batched:  # the Dataset reads a list of indices in one go
        sampler = BatchSampler(RandomSampler(data), BATCH, drop_last=True)
        loader = DataLoader(data, batch_size=None, sampler=sampler, num_workers=workers)
    else:
        loader = DataLoader(data, batch_size=BATCH, shuffle=True, num_workers=workers)
    it = iter(loader)
    next(it)
    start = time.perf_counter()
    for _ in range(batches):
        batch = next(it)
    elapsed = time.perf_counter() - start
    assert batch["x"].shape[0] == BATCH
    return batches * BATCH / elapsed


def get_batch_rate(root: Path, batches: int) -> float:
    """Sequences per second through ``get_batch`` on random indices."""
    dataset = open_dataset(root, "train")
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(batches):
        dataset.get_batch(rng.choice(len(dataset), BATCH, replace=False))
    return batches * BATCH / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sheets", type=Path, default=SHARED_DATA / "lpc-sprites")
    parser.add_argument("--out", type=Path, help="build here and keep it (default: a temporary folder)")
    parser.add_argument("--batches", type=int, default=200, help="batches timed per loader (default 200)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_data.") as tmp:
        root = args.out or Path(tmp) / "sprites"
        start = time.perf_counter()
        build_sprites(root, args.sheets)
        rows = [("sprites build (1.07 GiB)", f"{time.perf_counter() - start:.1f} s")]
        for batched in (False, True):
            for workers in (0, 2):
                rate = loader_rate(root, workers, args.batches, batched)
                how = "BatchSampler" if batched else f"batch_size={BATCH}"
                rows.append((f"DataLoader {how}, {workers} workers", f"{rate:,.0f} seq/s"))
        rows.append((f"get_batch({BATCH})", f"{get_batch_rate(root, args.batches):,.0f} seq/s"))
    print(f"{'measure':<40} {'value':>12}")
    for name, value in rows:
        print(f"{name:<40} {value:>12}")


if __name__ == "__main__":
    main()
