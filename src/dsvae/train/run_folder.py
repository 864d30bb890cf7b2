"""The run folder: everything a training run writes, and how to read it back.

    RUN/config.json            the resolved RunConfig (model, data, train)
    RUN/metrics.jsonl          one JSON object per line: {"step", "split": "train"|"test", "time", terms...}
    RUN/log.txt                the human log
    RUN/checkpoints/latest/    save_pretrained folder + trainer state (resume from here)
    RUN/checkpoints/best/      save_pretrained folder of the best test ELBO so far
    RUN/samples/               PNG grids written during training
    RUN/.lock                  the id of the process training the run (held with flock; empty when free)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from dsvae.config import from_dict
from dsvae.errors import DSVAEError
from dsvae.io import read_json
from dsvae.model import DSVAE
from dsvae.outputs import check_writable, is_empty_dir
from dsvae.train.config import RunConfig
from dsvae.train.run_lock import LOCK_NAME

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


def check_run_folder(run_dir: Path, resume: bool) -> None:
    """A new run needs a new or empty folder (the lock of a killed start is fine); a resume needs a run."""
    check_writable(run_dir, "run folder")
    holds_run = (run_dir / CONFIG_NAME).is_file()
    if resume:
        if not holds_run:
            raise DSVAEError(f"cannot resume {run_dir}: it holds no run (no {CONFIG_NAME}); start one with --out")
        return
    if holds_run:
        raise DSVAEError(f"{run_dir} already holds a run; continue it with --resume {run_dir}, or choose another --out")
    if run_dir.exists() and not is_empty_dir(run_dir, ignore=(LOCK_NAME,)):
        raise DSVAEError(f"{run_dir} is not empty and is not a run folder; choose another --out")


def json_safe(result: dict[str, Any]) -> dict[str, Any]:
    """A record (e.g. ``summary.json``) with non-finite numbers as null, JSON having no NaN, and a note saying which."""

    def clean(value: object, name: str, bad: list[str]) -> object:
        if isinstance(value, dict):
            return {k: clean(v, f"{name}.{k}", bad) for k, v in value.items()}
        if isinstance(value, float) and not math.isfinite(value):
            bad.append(f"{name} was {value}")
            return None
        return value

    bad: list[str] = []
    record = {k: clean(v, k, bad) for k, v in result.items()}
    if bad:
        record["non_finite"] = bad  # null above means: this value was not a finite number
    return record
