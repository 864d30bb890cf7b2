"""The run folder: everything a training run writes, and how to read it back.

    RUN/config.json            the resolved RunConfig (model, data, train)
    RUN/metrics.jsonl          one JSON object per line: {"step", "split": "train"|"test", "time", terms...}
    RUN/log.txt                the human log
    RUN/checkpoints/latest/    save_pretrained folder + trainer state (resume from here)
    RUN/checkpoints/best/      save_pretrained folder of the best test ELBO so far
    RUN/samples/               PNG grids written during training
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dsvae.config import from_dict
from dsvae.errors import DSVAEError
from dsvae.io import read_json
from dsvae.model import DSVAE
from dsvae.train.config import RunConfig

CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.jsonl"
LOG_NAME = "log.txt"
CHECKPOINTS = "checkpoints"
SAMPLES = "samples"


def read_run_config(run: str | Path) -> RunConfig:
    """The resolved config a run was started with."""
    run = Path(run)
    if not run.is_dir():
        raise DSVAEError(f"run folder {run} does not exist")
    return from_dict(RunConfig, read_json(run / CONFIG_NAME, what="run config"))


def checkpoint_dir(run: str | Path, which: str = "best") -> Path:
    """``RUN/checkpoints/<which>``, falling back from best to latest; a clear error if neither exists."""
    root = Path(run) / CHECKPOINTS
    order = [which] if which != "best" else ["best", "latest"]
    for name in order:
        if (root / name / "model.safetensors").is_file():
            return root / name
    raise DSVAEError(f"run folder {run} has no {which} checkpoint under {root}; train it first")


def load_run_model(run: str | Path, which: str = "best", map_location: str = "cpu") -> tuple[DSVAE, RunConfig]:
    """The model of a run (best checkpoint by default) and the run's config, in eval mode."""
    cfg = read_run_config(run)
    model = DSVAE.from_pretrained(checkpoint_dir(run, which), map_location=map_location)
    return model.eval(), cfg


def read_metrics(run: str | Path) -> list[dict[str, Any]]:
    """All metric records of a run (an unfinished last line is skipped)."""
    path = Path(run) / METRICS_NAME
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
