"""DDP under torchrun on CPU (gloo): each rank draws its own noise, and resume stays exact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dsvae.io import load_tensors
from dsvae.train.distributed import noise_seed

from .test_cli_train import TINY

PROBE = Path(__file__).with_name("ddp_noise_probe.py")


def torchrun(*args: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def train(*args: str) -> None:
    torchrun("-m", "dsvae", "train", "--preset", "shapes", "--quiet", *args)


def test_noise_seeds_differ_by_rank_and_step_and_repeat() -> None:
    seeds = {noise_seed(0, rank, step) for rank in range(4) for step in range(50)}
    assert len(seeds) == 200  # no two (rank, step) pairs share a stream
    assert noise_seed(3, 1, 7) == noise_seed(3, 1, 7)  # what a resumed run relies on
    assert noise_seed(0, 0, 0) != noise_seed(1, 0, 0)
    assert noise_seed(-1, 0, 0) >= 0  # any seed the config accepts maps to a valid torch seed


@pytest.mark.slow
def test_ranks_draw_different_noise_on_the_same_batch(shapes_dir: Path, tmp_path: Path) -> None:
    torchrun(str(PROBE), str(shapes_dir), str(tmp_path), *TINY, "train.batch_size=4")
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    # same weights (DDP broadcasts rank 0's), same batch: only the noise of f and z can differ
    assert r0["lr"] == r1["lr"]
    assert r0["recon"] != r1["recon"] and r0["kl_z"] != r1["kl_z"]


@pytest.mark.slow
def test_resume_under_ddp_is_exact(shapes_dir: Path, tmp_path: Path) -> None:
    common = [*TINY, "--data", str(shapes_dir), "train.batch_size=4", "train.max_steps=8", "train.eval_every=3"]
    train("--out", str(tmp_path / "whole"), *common)
    train("--out", str(tmp_path / "split"), "--steps", "4", *common)
    assert json.loads((tmp_path / "split/summary.json").read_text())["step"] == 4
    train("--resume", str(tmp_path / "split"), "--data", str(shapes_dir))
    weights = [load_tensors(tmp_path / run / "checkpoints/latest/model.safetensors") for run in ("whole", "split")]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


@pytest.mark.slow
def test_contrastive_terms_under_ddp_keep_the_ranks_in_sync(shapes_dir: Path, tmp_path: Path) -> None:
    """The views are encoded outside the DDP wrapper: the reduced gradients must still agree."""
    on = ["train.contrastive_f_weight=10", "train.contrastive_z_weight=10", "train.log_every=1"]
    train(
        "--out", str(tmp_path / "run"), *TINY, "--data", str(shapes_dir), "train.batch_size=4", "train.max_steps=3", *on
    )
    summary = json.loads((tmp_path / "run/summary.json").read_text())
    assert summary["ranks_in_sync"] is True and summary["step"] == 3
    assert {"nce_f", "nce_z"} <= set(summary["last_train"])
