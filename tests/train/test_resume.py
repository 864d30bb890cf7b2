"""The resume policy (train/resume.py) and the objective as the trainer minimises and logs it."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from dsvae.config import to_dict
from dsvae.errors import DSVAEError
from dsvae.io import write_json
from dsvae.run_config import RunConfig
from dsvae.run_folder import CONFIG_NAME, read_metrics
from dsvae.train.loop import Trainer
from dsvae.train.resume import resume_config


def test_resume_takes_steering_changes_and_refuses_the_rest(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    write_json(run / CONFIG_NAME, to_dict(tiny_run_config))
    cfg = resume_config(run, ["train.max_steps=20", "train.log_every=1"])
    assert (cfg.train.max_steps, cfg.train.log_every, cfg.train.lr) == (20, 1, tiny_run_config.train.lr)
    with pytest.raises(DSVAEError, match=r"cannot resume .* with train\.lr=0\.5: the run was trained with 0\.002"):
        resume_config(run, ["train.lr=0.5"])
    with pytest.raises(DSVAEError, match=r"train\.kl_z_weight"):
        resume_config(run, ["model.kl_z_weight=2"])  # the old key of a moved field is still a change


def test_the_logged_train_loss_is_the_minimised_one_during_kl_warm_up(
    tiny_run_config: RunConfig, tmp_path: Path
) -> None:
    train = dataclasses.replace(tiny_run_config.train, kl_warmup_steps=4, kl_z_weight=2.0, log_every=1, max_steps=3)
    Trainer(dataclasses.replace(tiny_run_config, train=train), tmp_path / "run", echo=False).run()
    records = [r for r in read_metrics(tmp_path / "run") if r["split"] == "train"]
    assert [(r["kl_f_weight"], r["kl_z_weight"]) for r in records] == [(0.25, 0.5), (0.5, 1.0), (0.75, 1.5)]
    for r in records:
        want = r["recon"] + r["kl_f_weight"] * r["kl_f"] + r["kl_z_weight"] * r["kl_z"]
        assert math.isclose(r["loss"], want, rel_tol=1e-5), r
        assert not math.isclose(r["loss"], -r["elbo"], rel_tol=1e-5)  # not the unweighted bound
