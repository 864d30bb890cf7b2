"""Training: configs, the loop, checkpoints, distributed set-up."""

from dsvae.train.config import DataConfig, RunConfig, TrainConfig

__all__ = ["DataConfig", "RunConfig", "TrainConfig"]
