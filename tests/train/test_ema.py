"""The weight average (train.ema_decay): its closed form, what a checkpoint holds, and an exact resume."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn

from dsvae.errors import DSVAEError
from dsvae.io import load_tensors
from dsvae.model import DSVAE
from dsvae.run_config import RunConfig, TrainConfig
from dsvae.train.checkpoint import TRAINER_TENSORS, TRAINING_WEIGHTS, load_checkpoint
from dsvae.train.ema import WeightAverage, average_decay
from dsvae.train.loop import Trainer


def test_the_average_follows_the_closed_form() -> None:
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    avg = WeightAverage(model, decay=0.9)
    expected = 0.0
    for n, w in enumerate([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]):
        with torch.no_grad():
            model.weight.fill_(w)
        avg.update(model, n)
        d = min(0.9, (1 + n) / (10 + n))
        expected = d * expected + (1 - d) * w
        assert avg.module.weight.item() == pytest.approx(expected, rel=1e-6)
    assert average_decay(0.9, 0) == pytest.approx(0.1) and average_decay(0.9, 1000) == 0.9
    assert not avg.module.weight.requires_grad and not avg.module.training


def test_the_decay_is_checked() -> None:
    for bad in (1.0, -0.1):
        with pytest.raises(DSVAEError, match=r"train\.ema_decay must be in \[0, 1\)"):
            TrainConfig(ema_decay=bad)


def with_average(cfg: RunConfig, decay: float = 0.5) -> RunConfig:
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, ema_decay=decay))


def test_checkpoints_hold_the_average_as_the_model_and_the_training_weights_beside(
    tiny_run_config: RunConfig, tmp_path: Path
) -> None:
    plain = Trainer(tiny_run_config, tmp_path / "plain", echo=False).run()
    averaged = Trainer(with_average(tiny_run_config), tmp_path / "avg", echo=False).run()
    assert plain.step == averaged.step == 8
    latest = tmp_path / "avg" / "checkpoints" / "latest"
    model = load_tensors(latest / "model.safetensors")
    trainer = load_tensors(latest / TRAINER_TENSORS)
    training = {n[len(TRAINING_WEIGHTS) :]: t for n, t in trainer.items() if n.startswith(TRAINING_WEIGHTS)}
    reference = load_tensors(tmp_path / "plain" / "checkpoints" / "latest" / "model.safetensors")
    assert training.keys() == model.keys() == reference.keys()
    for name in reference:  # the average changes nothing in training: same weights as the plain run
        assert torch.equal(training[name], reference[name]), name
    assert any(not torch.equal(model[n], training[n]) for n in model)  # and the saved model is the average
    assert (tmp_path / "plain" / "checkpoints" / "latest" / TRAINER_TENSORS).is_file()
    plain_trainer = load_tensors(tmp_path / "plain" / "checkpoints" / "latest" / TRAINER_TENSORS)
    assert not any(n.startswith(TRAINING_WEIGHTS) for n in plain_trainer)  # off: nothing extra is written


def test_a_resumed_run_with_an_average_repeats_the_uninterrupted_one(
    tiny_run_config: RunConfig, tmp_path: Path
) -> None:
    cfg = with_average(tiny_run_config, 0.8)
    Trainer(cfg, tmp_path / "one", echo=False).run()
    Trainer(cfg, tmp_path / "two", echo=False, max_new_steps=5).run()
    Trainer(cfg, tmp_path / "two", echo=False, resume=True).run()
    for name in ("model.safetensors", TRAINER_TENSORS):
        a = load_tensors(tmp_path / "one" / "checkpoints" / "latest" / name)
        b = load_tensors(tmp_path / "two" / "checkpoints" / "latest" / name)
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), (name, k)


def test_a_checkpoint_without_an_average_cannot_seed_one(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    Trainer(tiny_run_config, tmp_path / "plain", echo=False, max_new_steps=5).run()
    model, average = DSVAE(tiny_run_config.model), DSVAE(tiny_run_config.model)
    with pytest.raises(DSVAEError, match=r"written without a weight average .* train\.ema_decay=0"):
        load_checkpoint(tmp_path / "plain" / "checkpoints" / "latest", model, None, average=average)
