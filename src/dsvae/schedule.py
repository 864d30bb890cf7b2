"""Schedules: pure functions of the step, so a resume needs no state. One warm-up plus cosine
shape serves the model's training and the judge's."""

from __future__ import annotations

import math

from dsvae.run_config import TrainConfig


def warmup_cosine(step: int, total: int, warmup: int, peak: float = 1.0, floor: float = 0.0) -> float:
    """The value at optimisation step ``step`` (0-based): linear warm-up from 0 to ``peak`` over
    ``warmup`` steps, then a half cosine from ``peak`` down to ``floor`` at step ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """lr at optimisation step ``step`` (0-based): linear warm-up, then constant or cosine decay."""
    if cfg.schedule == "constant" and step >= cfg.warmup_steps:
        return cfg.lr
    return warmup_cosine(step, cfg.max_steps, cfg.warmup_steps, peak=cfg.lr, floor=cfg.lr * cfg.min_lr_ratio)


def kl_scale(step: int, cfg: TrainConfig) -> float:
    """Factor on both KL terms: 1 (the ELBO) unless a KL warm-up is configured."""
    if cfg.kl_warmup_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / cfg.kl_warmup_steps)
