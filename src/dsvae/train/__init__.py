"""Training: the loop, checkpoints, schedules, distributed set-up (the run's config: dsvae.run_config)."""

from dsvae.run_config import DataConfig, RunConfig, TrainConfig

__all__ = ["DataConfig", "RunConfig", "TrainConfig"]
