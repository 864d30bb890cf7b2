"""The run folder: every name a run holds, and how to read it back. The contract between
``dsvae train``, which writes it, and ``evaluate``, ``show`` and ``report``, which read it.

    RUN/config.json            the resolved RunConfig (model, data, train)
    RUN/metrics.jsonl          one JSON object per line: {"step", "split": "train"|"test", "time", terms...}
    RUN/log.txt                the human log
    RUN/summary.json           how the last training call ended (steps, best test ELBO, last terms)
    RUN/checkpoints/latest/    save_pretrained folder + trainer state (resume from here)
    RUN/checkpoints/best/      save_pretrained folder of the best test ELBO so far
    RUN/samples/               PNG grids written during training
    RUN/tensorboard/           TensorBoard events (when the optional package is installed)
    RUN/.lock                  the id of the process training the run (held with flock; empty when free)
    RUN/eval/                  `dsvae evaluate`: metrics.json (the figures) and metrics.md (the tables)
    RUN/show/                  `dsvae show`: the pictures and their index.json
    RUN/report.html            `dsvae report`: one page from all of the above
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from dsvae.config import from_dict
from dsvae.errors import DSVAEError
from dsvae.io import read_json
from dsvae.outputs import check_writable, is_empty_dir
from dsvae.pretrained import CONFIG_NAME, WEIGHTS_NAME
from dsvae.run_config import RunConfig

METRICS_NAME = "metrics.jsonl"
LOG_NAME = "log.txt"
SUMMARY_NAME = "summary.json"
CHECKPOINTS = "checkpoints"
SAMPLES = "samples"
TENSORBOARD_DIR = "tensorboard"
LOCK_NAME = ".lock"
EVAL_DIR = "eval"
EVAL_METRICS = "metrics.json"  # inside EVAL_DIR (or an evaluation's --out): the figures
EVAL_TABLES = "metrics.md"  # ... and the same figures as Markdown tables
SHOW_DIR = "show"
SHOW_INDEX = "index.json"  # inside SHOW_DIR (or a show's --out): what was drawn
REPORT_NAME = "report.html"

Checkpoint = Literal["best", "latest"]
CHECKPOINT_ORDER: dict[str, tuple[str, ...]] = {"best": ("best", "latest"), "latest": ("latest",)}


def read_run_config(run: str | Path) -> RunConfig:
    """The resolved config a run was started with."""
    run = Path(run)
    if not run.is_dir():
        raise DSVAEError(f"run folder {run} does not exist")
    return from_dict(RunConfig, read_json(run / CONFIG_NAME, what="run config"))


def checkpoint_dir(run: str | Path, which: Checkpoint = "best") -> Path:
    """``RUN/checkpoints/<which>``, falling back from best to latest; a clear error if neither exists."""
    root = Path(run) / CHECKPOINTS
    order = CHECKPOINT_ORDER.get(which, (which,))
    for name in order:
        if (root / name / WEIGHTS_NAME).is_file():
            return root / name
    under = " or ".join(f"{CHECKPOINTS}/{name}" for name in order)
    raise DSVAEError(f"run folder {run} has no {which} checkpoint: no checkpoint under {under} yet; train it first")


def model_folder(path: str | Path, which: Checkpoint = "best") -> Path:
    """The ``save_pretrained`` folder behind ``path``: itself, or a run folder's checkpoint ``which``."""
    path = Path(path)
    if (path / CHECKPOINTS).is_dir() and not (path / WEIGHTS_NAME).is_file():
        return checkpoint_dir(path, which)
    return path  # read_config says what is wrong with it


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
