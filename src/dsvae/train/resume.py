"""What a resumed run may change: the settings that steer it, never the mathematics of its steps.

A run is resumed from its own ``config.json``; overrides on top are refused unless they only
steer the run (how long, how often it logs or checkpoints, where the data is read from), so a
resumed run repeats the uninterrupted one exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dsvae.config import apply_overrides, to_dict
from dsvae.errors import DSVAEError
from dsvae.run_config import RunConfig
from dsvae.run_folder import read_run_config

# Fields a resumed run may change: they steer the run, not the mathematics of its steps.
RESUMABLE_CHANGES = frozenset({
    "data.path", "data.num_workers", "data.test_batches", "train.max_steps", "train.max_minutes",
    "train.log_every", "train.eval_every", "train.checkpoint_every", "train.sample_every",
    "train.device", "train.max_bad_steps", "train.tensorboard",
})  # fmt: skip


def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested dict as ``{"section.field": value}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        out.update(flat(v, key + ".") if isinstance(v, dict) else {key: v})
    return out


def check_resumable(run: str | Path, saved: RunConfig, cfg: RunConfig) -> None:
    """Refuse ``cfg`` for resuming ``run`` (trained with ``saved``) if it changes more than steering."""
    before, after = flat(to_dict(saved)), flat(to_dict(cfg))
    changed = sorted(k for k in after if after[k] != before.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
        k = changed[0]
        raise DSVAEError(
            f"cannot resume {run} with {k}={after[k]!r}: the run was trained with {before.get(k)!r}; "
            "start a new run with --out instead"
        )


def resume_config(run: str | Path, overrides: list[str]) -> RunConfig:
    """The config to resume ``run`` with: its own, with ``overrides`` that only steer it."""
    saved = read_run_config(run)
    cfg = apply_overrides(saved, overrides)
    check_resumable(run, saved, cfg)
    return cfg
