"""Learning-rate and KL warm-up schedules: pure functions of the step, so resume needs no state."""

from __future__ import annotations

import math

from dsvae.run_config import TrainConfig


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """lr at optimisation step ``step`` (0-based): linear warm-up, then constant or cosine decay."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(1, cfg.max_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def kl_scale(step: int, cfg: TrainConfig) -> float:
    """Factor on both KL terms: 1 (the ELBO) unless a KL warm-up is configured."""
    if cfg.kl_warmup_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / cfg.kl_warmup_steps)
