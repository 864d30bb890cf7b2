"""Schedules: pure functions of the step, so a resume needs no state. One warm-up plus cosine
shape serves the model's training and the judge's."""

from __future__ import annotations

import math

from dsvae.objective import KLWeights
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


def kl_weights(step: int, cfg: TrainConfig) -> KLWeights:
    """The weights on the two KL terms at optimisation step ``step`` (0-based).

    The schedule's start weights (``kl_f_start``, ``kl_z_start``) for the first ``kl_hold_steps``,
    then a linear move to ``kl_f_weight``, ``kl_z_weight`` over ``kl_anneal_steps``, and those from
    then on; all of it times the KL warm-up factor (:func:`kl_scale`). Without a schedule
    (``kl_hold_steps = kl_anneal_steps = 0``) the weights are ``kl_f_weight``, ``kl_z_weight``.
    """
    w = cfg.kl_weights
    ramp = step - cfg.kl_hold_steps
    if ramp < cfg.kl_anneal_steps:
        a = max(0.0, ramp / cfg.kl_anneal_steps) if cfg.kl_anneal_steps else 0.0
        w = KLWeights(cfg.kl_f_start + a * (w.f - cfg.kl_f_start), cfg.kl_z_start + a * (w.z - cfg.kl_z_start))
    return w.scaled(kl_scale(step, cfg))
