"""Shared fixtures: CPU, deterministic seeds, tiny configs."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch

from dsvae import DSVAEConfig

# The shared data beside the checkout (../shared/data), or where DSVAE_SHARED_DATA points.
SHARED_DATA = Path(os.environ.get("DSVAE_SHARED_DATA", Path(__file__).resolve().parents[1] / "../shared/data"))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="session")
def load_benchmark() -> Callable[[str], ModuleType]:
    """Import a script of ``benchmarks/`` by its name (the scripts are not a package)."""

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module

    return load


@pytest.fixture
def tiny_config() -> DSVAEConfig:
    """A 16x16x3 model small enough for many forward/backward passes in a test."""
    return DSVAEConfig(n_frames=4, channels=3, image_size=16, dim_z=4, dim_f=8, dim_h=16, dim_hidden=32, n_channels=8)
