"""``dsvae train`` from the command line: overrides, resume checks, SIGINT, torchrun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dsvae import DSVAE
from dsvae.cli import main
from dsvae.run_folder import read_metrics

TINY = [
    "model.n_frames=4", "model.image_size=32", "model.dim_z=4", "model.dim_f=8", "model.dim_h=16",
    "model.dim_hidden=32", "model.n_channels=8", "data.num_workers=0", "train.batch_size=8",
    "train.warmup_steps=2", "train.log_every=2", "train.eval_every=4", "train.sample_every=0", "train.seed=1",
]  # fmt: skip


def train_cli(*args: str) -> int:
    return main(["train", "--preset", "shapes", "--quiet", *args])


@pytest.mark.parametrize(
    "override,message",
    [
        ("model.dim_q=3", "unknown config key 'model.dim_q'"),
        ("train.lr=fast", "train.lr must be a number"),
        ("train.batch_size=0", "train.batch_size must be a positive integer"),
        ("modle.dim_z=3", "unknown config key 'modle'"),
        ("train.lr", "must look like section.field=value"),
    ],
)
def test_bad_overrides_name_the_key(
    override: str, message: str, shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert train_cli("--data", str(shapes_dir), "--out", str(tmp_path / "run"), override) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_resume_refuses_a_different_config_and_continues_the_same(
    shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = str(tmp_path / "run")
    assert train_cli("--data", str(shapes_dir), "--out", run, "train.max_steps=6", "--steps", "3", *TINY) == 0
    assert train_cli("--resume", run, "model.dim_z=5") == 2
    assert "cannot resume" in capsys.readouterr().err
    assert train_cli("--data", str(shapes_dir), "--out", run, *TINY) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert train_cli("--resume", run) == 0
    assert json.loads((tmp_path / "run/summary.json").read_text())["step"] == 6


def test_missing_data_folder_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert train_cli("--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert err.startswith("dsvae: error: data folder") and "dsvae data" in err


@pytest.mark.slow
def test_sigint_saves_a_checkpoint_and_exits_cleanly(shapes_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "dsvae", "train", "--preset", "shapes", "--quiet", "--data", str(shapes_dir),
           "--out", str(run), "train.max_steps=100000", "train.checkpoint_every=100000", *TINY]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(read_metrics(run)) < 3:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped"] == "interrupted" and 0 < summary["step"] < 100000
    model = DSVAE.from_pretrained(run, checkpoint="latest")
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.slow
def test_two_process_torchrun_stays_in_sync_and_matches_one_process(shapes_dir: Path, tmp_path: Path) -> None:
    """2 CPU processes (gloo) with batch 4 each against 1 process with batch 8: the same data per
    step (see test_sampler), weights in sync across ranks, and a final loss close to the single run's."""
    common = [*TINY, "train.max_steps=40", "train.eval_every=40", "train.lr=3e-3"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "dsvae",
           "train", "--preset", "shapes", "--quiet", "--data", str(shapes_dir), "--out", str(tmp_path / "ddp"),
           *common, "train.batch_size=4"]  # fmt: skip
    proc = subprocess.run(ddp, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert train_cli("--data", str(shapes_dir), "--out", str(tmp_path / "one"), *common, "train.batch_size=8") == 0

    ddp_summary = json.loads((tmp_path / "ddp/summary.json").read_text())
    one_summary = json.loads((tmp_path / "one/summary.json").read_text())
    assert ddp_summary["ranks_in_sync"] is True
    assert ddp_summary["step"] == one_summary["step"] == 40
    # only rank 0 wrote: one config, one log with one summary line
    assert (tmp_path / "ddp/log.txt").read_text().count("ranks in sync: yes") == 1
    first = next(r for r in read_metrics(tmp_path / "ddp") if r["split"] == "train")
    first_one = next(r for r in read_metrics(tmp_path / "one") if r["split"] == "train")
    # same initial weights and data: the first steps' losses agree up to the sampling noise
    assert abs(first["loss"] - first_one["loss"]) < 0.02 * first_one["loss"]
    a, b = ddp_summary["last_test"]["elbo"], one_summary["last_test"]["elbo"]
    assert abs(a - b) < 0.1 * abs(b), (a, b)
