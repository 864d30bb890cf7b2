"""Faults around the run folder: a kill before the first checkpoint, two trainings on one folder,
leftovers of killed writes, and a NaN test ELBO."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dsvae.cli import main
from dsvae.data import build_shapes
from dsvae.outputs import sweep_partials
from dsvae.run_config import RunConfig
from dsvae.run_folder import read_metrics
from dsvae.train.loop import Trainer
from dsvae.train.run_lock import LOCK_NAME, RunLock

TINY = [
    "model.n_frames=4", "model.image_size=32", "model.dim_z=4", "model.dim_f=8", "model.dim_h=16",
    "model.dim_hidden=32", "model.n_channels=8", "data.num_workers=0", "train.batch_size=8",
    "train.warmup_steps=2", "train.log_every=1", "train.sample_every=0", "train.tensorboard=false",
]  # fmt: skip
DEAD_PID = 2**22 + 12345  # above Linux's largest pid (pid_max <= 2**22): never a live process


def start_training(run: Path, data: Path, *extra: str) -> subprocess.Popen:
    argv = ["train", "--preset", "shapes", "--quiet", "--data", str(data), "--out", str(run), *TINY, *extra]
    code = f"import sys; from dsvae.cli import main; sys.exit(main({argv!r}))"
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, proc: subprocess.Popen, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds  # a generous bound on a busy machine, not a measurement
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the training ended (status {proc.returncode}) before {what}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no {what} within {seconds} s")
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_before_the_first_checkpoint_then_resume_starts_at_step_0(
    shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    proc = start_training(run, shapes_dir, "train.max_steps=100000", "train.checkpoint_every=100000",
                          "train.eval_every=100000")  # fmt: skip
    wait_for(lambda: len(read_metrics(run)) >= 2, proc, "two metric lines")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    config = (run / "config.json").read_text()
    assert not (run / "checkpoints" / "latest").exists()
    assert (run / LOCK_NAME).read_text().strip() == str(proc.pid)  # the dead process's lock is left behind

    assert main(["train", "--resume", str(run), "--steps", "3", "--quiet"]) == 0
    log = (run / "log.txt").read_text()
    assert f"took over the lock of process {proc.pid}" in log
    assert "no checkpoint yet (stopped before the first): starting it from step 0" in log
    assert json.loads((run / "summary.json").read_text())["step"] == 3
    assert (run / "config.json").read_text() == config  # the same run, with the config it was started with
    steps = [r["step"] for r in read_metrics(run) if r["split"] == "train"]
    assert steps == [1, 2, 3]  # the killed attempt's records were dropped, not interleaved


@pytest.mark.slow
def test_two_trainings_on_one_folder_exactly_one_wins(shapes_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = start_training(run, shapes_dir, "train.max_steps=100000", "train.eval_every=100000",
                           "train.checkpoint_every=100000")  # fmt: skip
    wait_for(lambda: (run / "config.json").is_file() and len(read_metrics(run)) >= 1, first, "a running training")
    before = {p.name: p.read_bytes() for p in (run / "config.json", run / LOCK_NAME)}
    second = start_training(run, shapes_dir, "train.max_steps=3")
    _, err = second.communicate(timeout=300)
    first.send_signal(signal.SIGTERM)  # the winner checkpoints and stops cleanly
    first.communicate(timeout=300)
    assert second.returncode == 2 and first.returncode == 0
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("dsvae: error: ") and f"is being trained by process {first.pid}" in lines[0]
    assert before["config.json"] == (run / "config.json").read_bytes()  # the winner's config, not the loser's
    assert before[LOCK_NAME].decode().strip() == str(first.pid)
    steps = [r["step"] for r in read_metrics(run) if r["split"] == "train"]
    assert steps == list(range(1, len(steps) + 1))  # one run's records only, in order
    assert json.loads((run / "summary.json").read_text())["step"] == steps[-1]


@pytest.mark.slow
def test_two_trainings_started_together_exactly_one_wins(shapes_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    procs = [start_training(run, shapes_dir, "train.max_steps=3", "train.eval_every=3") for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 2]
    err = next(e for p, (_, e) in zip(procs, outs, strict=True) if p.returncode == 2)
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    # refused by the lock while the winner trains (its pid written or not yet), or by its config.json once finished
    refused = r"dsvae: error: .*(is being trained by (process \d+|another process)|already holds a run)"
    assert re.match(refused, lines[0]), lines[0]
    assert [r["step"] for r in read_metrics(run) if r["split"] == "train"] == [1, 2, 3]
    assert json.loads((run / "summary.json").read_text())["step"] == 3


def test_a_held_lock_refuses_a_second_holder_and_a_dead_ones_is_taken_over(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text(f"{DEAD_PID}\n")
    with RunLock(tmp_path) as lock:
        assert lock.stale_pid == DEAD_PID
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
        probe = subprocess.run(
            [sys.executable, "-c", f"from dsvae.train.run_lock import RunLock; RunLock({str(tmp_path)!r}).acquire()"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert probe.returncode != 0 and f"is being trained by process {os.getpid()}" in probe.stderr
    assert (tmp_path / LOCK_NAME).read_text() == ""  # released: free for the next run
    with RunLock(tmp_path) as lock:
        assert lock.stale_pid is None


def test_partial_leftovers_of_the_same_target_are_swept_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "latest"
    dead = [tmp_path / f".latest.{DEAD_PID}.abc123xy.partial", tmp_path / ".latest.k2j4l5m6.partial"]
    alive = tmp_path / f".latest.{os.getppid()}.zz99zz99.partial"  # our parent: a write in progress
    others = [tmp_path / ".best.k2j4l5m6.partial", tmp_path / ".latest.old", tmp_path / "latest.partial",
              tmp_path / ".latest.x.partial", tmp_path / ".latestx.k2j4l5m6.partial"]  # fmt: skip
    for p in [*dead, alive, *others]:
        p.mkdir()
        (p / "model.safetensors").write_bytes(b"x")
    assert sorted(sweep_partials(target)) == sorted(dead)
    assert not any(p.exists() for p in dead)
    assert alive.exists() and all(p.exists() for p in others)


def test_resume_and_data_builds_sweep_their_leftovers(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    run = tmp_path / "run"
    Trainer(tiny_run_config, run, echo=False, max_new_steps=1).run()
    leftover = run / "checkpoints" / f".latest.{DEAD_PID}.abcdefgh.partial"
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"half")
    Trainer(tiny_run_config, run, resume=True, echo=False, max_new_steps=1).run()
    assert not leftover.exists()
    assert f"removed {leftover.name}, left by a killed checkpoint write" in (run / "log.txt").read_text()

    data = tmp_path / "data"
    half = tmp_path / ".data.qwertyui.partial"  # a build killed midway (made by tempfile, no pid)
    half.mkdir()
    (half / "frames.npy").write_bytes(b"\0" * 1000)
    build_shapes(data, n_train=8, n_test=4, n_frames=2, image_size=32)
    assert not half.exists() and (data / "meta.json").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".data.")] == []


def test_a_nan_test_elbo_keeps_best_and_writes_null(
    tiny_run_config: RunConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainer = Trainer(tiny_run_config, tmp_path / "run", echo=False)
    calls = {"n": 0}
    real = Trainer.evaluate

    def evaluate_then_nan(self: Trainer) -> dict[str, float]:
        calls["n"] += 1
        terms = real(self)
        return terms if calls["n"] == 1 else {**terms, "elbo": math.nan}

    monkeypatch.setattr(Trainer, "evaluate", evaluate_then_nan)
    result = trainer.run()
    assert calls["n"] >= 2
    assert result.best_test_elbo is not None and math.isfinite(result.best_test_elbo)  # the finite one, kept
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["last_test"]["elbo"] is None
    assert summary["best_test_elbo"] == result.best_test_elbo
    assert "last_test.elbo was nan" in summary["non_finite"]
    assert "the test ELBO is nan; best checkpoint kept" in (tmp_path / "run" / "log.txt").read_text()
