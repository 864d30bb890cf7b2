"""Fixtures for training tests: a small synthetic data folder and a tiny run config."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsvae.config import DSVAEConfig
from dsvae.data import build_shapes
from dsvae.run_config import DataConfig, RunConfig, TrainConfig


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """96 training and 32 test sequences of 4 frames of 32x32x3."""
    return build_shapes(tmp_path_factory.mktemp("data") / "shapes", n_train=96, n_test=32, n_frames=4, image_size=32)


@pytest.fixture
def tiny_run_config(shapes_dir: Path) -> RunConfig:
    return RunConfig(
        model=DSVAEConfig(n_frames=4, image_size=32, dim_z=4, dim_f=8, dim_h=16, dim_hidden=32, n_channels=8),
        data=DataConfig(path=str(shapes_dir), num_workers=0),
        train=TrainConfig(
            batch_size=8, lr=2e-3, max_steps=8, warmup_steps=2, log_every=2, eval_every=3,
            checkpoint_every=5, sample_every=0, seed=1,
        ),
    )  # fmt: skip
