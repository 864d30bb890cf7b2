"""Run under torchrun by test_distributed.py: every rank takes one training step on the same
batch and writes that step's terms to OUT/rank<r>.json. With the same weights and the same batch,
the terms differ between ranks only if the ranks drew different noise.

Usage: torchrun --nproc_per_node 2 ddp_noise_probe.py DATA OUT KEY=VALUE...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dsvae.cli.cmd_train import dist_from_env
from dsvae.config import apply_overrides
from dsvae.presets import get_preset
from dsvae.train import distributed
from dsvae.train.loop import Trainer


def main(data: str, out: str, overrides: list[str]) -> None:
    cfg = apply_overrides(get_preset("shapes"), [f"data.path={data}", *overrides])
    info = dist_from_env()
    trainer = Trainer(cfg, Path(out) / "run", dist=info, echo=False)
    distributed.init(info, trainer.device)
    finished = False
    try:
        trainer._open_data()
        trainer._build()
        x = trainer.train_set.get_batch(list(range(cfg.train.batch_size)))["x"]  # the same batch on every rank
        terms = trainer.train_step(x)
        Path(out, f"rank{info.rank}.json").write_text(json.dumps(terms))
        finished = True
    finally:
        trainer.close(finished)  # the trainer's own teardown, as a training run leaves


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
