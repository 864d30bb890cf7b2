"""The trainer with C-DSVAE's contrastive terms: off is the plain ELBO, on adds the terms and they fall."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

from dsvae.objective import elbo_terms
from dsvae.run_config import RunConfig
from dsvae.run_folder import read_metrics
from dsvae.schedule import kl_weights
from dsvae.train.distributed import noise_seed
from dsvae.train.loop import Trainer


def built_trainer(cfg: RunConfig, run: Path, **train: object) -> Trainer:
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **train))
    trainer = Trainer(cfg, run, echo=False)
    trainer._open_data()
    trainer._build()
    return trainer


def count_encoder_calls(trainer: Trainer) -> list[int]:
    calls = [0]
    trainer.model.encoder.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def plain_elbo_loss(trainer: Trainer, x: torch.Tensor) -> float:
    """The loss the step would minimise without the contrastive terms, from the same weights and noise."""
    tc = trainer.cfg.train
    torch.manual_seed(noise_seed(tc.seed, 0, trainer.step))
    trainer.model.train()
    return elbo_terms(trainer.model(x), x, kl_weights(trainer.step, tc)).loss.item()


def test_with_every_weight_zero_the_loss_is_the_plain_elbo_and_no_view_is_encoded(
    tiny_run_config: RunConfig, tmp_path: Path
) -> None:
    trainer = built_trainer(tiny_run_config, tmp_path / "run")
    x = trainer.train_set.get_batch(list(range(8)))["x"]
    want = plain_elbo_loss(trainer, x)
    calls = count_encoder_calls(trainer)
    values = trainer.train_step(x)
    assert values is not None
    assert values["loss"] == want  # bit for bit
    assert calls[0] == 1  # the step's own forward pass only
    assert not {"nce_f", "nce_z", "mi_fz"} & set(values)


def test_with_the_weights_on_the_loss_adds_the_weighted_terms_and_the_elbo_stays_unweighted(
    tiny_run_config: RunConfig, tmp_path: Path
) -> None:
    trainer = built_trainer(tiny_run_config, tmp_path / "run", contrastive_f_weight=2.0, contrastive_z_weight=0.5)
    x = trainer.train_set.get_batch(list(range(8)))["x"]
    plain = plain_elbo_loss(trainer, x)
    calls = count_encoder_calls(trainer)
    v = trainer.train_step(x)
    assert v is not None and calls[0] == 3  # the batch, its shuffled view, its colour-jittered view
    assert v["nce_f"] > 0 and v["nce_z"] > 0
    assert v["loss"] == pytest.approx(plain + 2.0 * v["nce_f"] + 0.5 * v["nce_z"], rel=1e-6)
    assert v["elbo"] == pytest.approx(-(v["recon"] + v["kl_f"] + v["kl_z"]), rel=1e-6)
    # one weight on: one extra pass
    only_z = built_trainer(tiny_run_config, tmp_path / "z", contrastive_z_weight=1.0)
    calls = count_encoder_calls(only_z)
    v = only_z.train_step(x)
    assert v is not None and calls[0] == 2 and "nce_f" not in v and "nce_z" in v
    # the penalty on I(f; z) reads the step's own pass: no extra one
    only_mi = built_trainer(tiny_run_config, tmp_path / "mi", mi_fz_weight=3.0)
    calls = count_encoder_calls(only_mi)
    v = only_mi.train_step(x)
    assert v is not None and calls[0] == 1 and {"nce_f", "nce_z"}.isdisjoint(v)
    assert -0.1 < v["mi_fz"] <= math.log(8) and v["loss"] == pytest.approx(plain + 3.0 * v["mi_fz"], rel=1e-6)


def test_a_few_steps_lower_the_contrastive_terms_on_a_tiny_batch(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    # InfoNCE is at most log B (2.1 nats here) beside a reconstruction term of ~8500 nats per sequence:
    # a weight of 1 hardly moves it in a few steps, 100 does
    trainer = built_trainer(
        tiny_run_config, tmp_path / "run", contrastive_f_weight=100.0, contrastive_z_weight=100.0, lr=3e-3,
        warmup_steps=0, max_steps=100,
    )  # fmt: skip
    x = trainer.train_set.get_batch(list(range(8)))["x"]
    history = []
    for _ in range(30):
        v = trainer.train_step(x)
        assert v is not None
        trainer.step += 1
        history.append((v["nce_f"], v["nce_z"]))
    first = [sum(h[k] for h in history[:3]) / 3 for k in (0, 1)]
    last = [sum(h[k] for h in history[-3:]) / 3 for k in (0, 1)]
    assert last[0] < 0.8 * first[0] and last[1] < 0.8 * first[1], (first, last)


def test_a_run_with_the_terms_logs_them_and_resumes_exactly(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    train = dataclasses.replace(tiny_run_config.train, contrastive_f_weight=1.0, contrastive_z_weight=1.0)
    cfg = dataclasses.replace(tiny_run_config, train=train)
    Trainer(cfg, tmp_path / "one", echo=False).run()
    Trainer(cfg, tmp_path / "two", echo=False, max_new_steps=4).run()
    Trainer(cfg, tmp_path / "two", echo=False, resume=True).run()
    rows = [r for r in read_metrics(tmp_path / "one") if r["split"] == "train"]
    assert rows and all({"nce_f", "nce_z"} <= set(r) for r in rows)
    assert [r["loss"] for r in rows] == [r["loss"] for r in read_metrics(tmp_path / "two") if r["split"] == "train"]
    test = [r for r in read_metrics(tmp_path / "one") if r["split"] == "test"]
    assert test and "nce_f" not in test[0]  # the test split reports the ELBO's terms
