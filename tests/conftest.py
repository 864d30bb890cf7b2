"""Shared fixtures: CPU, deterministic seeds, tiny configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from dsvae import DSVAEConfig

# The shared data beside the checkout (../shared/data), or where DSVAE_SHARED_DATA points.
SHARED_DATA = Path(os.environ.get("DSVAE_SHARED_DATA", Path(__file__).resolve().parents[1] / "../shared/data"))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def tiny_config() -> DSVAEConfig:
    """A 16x16x3 model small enough for many forward/backward passes in a test."""
    return DSVAEConfig(n_frames=4, channels=3, image_size=16, dim_z=4, dim_f=8, dim_h=16, dim_hidden=32, n_channels=8)
