"""What a run leaves for TensorBoard (pictures, hparams, scores) and beside its checkpoints (model cards)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from dsvae import DSVAE, DSVAEError
from dsvae.run_config import RunConfig
from dsvae.train.logger import log_scores
from dsvae.train.loop import Trainer
from dsvae.visualise.samples import write_samples

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def tags(folder: Path) -> dict[str, list[str]]:
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    return acc.Tags()


@pytest.fixture
def trained(tiny_run_config: RunConfig, tmp_path: Path) -> Path:
    cfg = dataclasses.replace(tiny_run_config, train=dataclasses.replace(tiny_run_config.train, sample_every=4))
    Trainer(cfg, tmp_path / "run", echo=False, write_samples=write_samples).run()
    return tmp_path / "run"


def test_tensorboard_gets_sample_pictures_and_hparams(trained: Path) -> None:
    found = tags(trained / "tensorboard")
    assert {"samples/recon", "samples/swap", "samples/prior"} <= set(found["images"])
    assert "train/loss" in found["scalars"]
    hparams = trained / "tensorboard" / "hparams"
    assert hparams.is_dir() and any(hparams.iterdir())
    assert "hparam/best_test_elbo" in tags(hparams)["scalars"]


def test_evaluation_scores_go_to_tensorboard_of_runs_that_log_there(trained: Path, tmp_path: Path) -> None:
    metrics = {"dynamics_resampled": {"accuracy": {"shape": {"mean": 0.75, "std": 0.1}}}, "config": {"seed": 3}}
    assert log_scores(trained, metrics, step=8)
    found = tags(trained / "tensorboard")["scalars"]
    assert "eval/dynamics_resampled.accuracy.shape" in found and not [t for t in found if "std" in t or "seed" in t]
    assert not log_scores(tmp_path / "elsewhere", metrics, step=8)  # no TensorBoard folder: nothing written
    assert not (tmp_path / "elsewhere").exists()


def test_checkpoints_carry_a_model_card(trained: Path) -> None:
    for which in ("latest", "best"):
        card = (trained / "checkpoints" / which / "README.md").read_text()
        assert "data set: shapes" in card and "best test ELBO" in card
        assert len(card) < 2000  # small
    assert "steps trained: 8" in (trained / "checkpoints" / "latest" / "README.md").read_text()


def same(a: DSVAE, b: DSVAE) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_from_pretrained_takes_a_run_folder_best_then_latest_in_eval_mode(trained: Path) -> None:
    latest = DSVAE.from_pretrained(trained / "checkpoints" / "latest")
    other = DSVAE(latest.config)  # fresh weights, unlike the trained latest: tells best from latest
    other.save_pretrained(trained / "checkpoints" / "best")
    model = DSVAE.from_pretrained(trained)
    assert not model.training and same(model, other) and not same(model, latest)
    for f in (trained / "checkpoints" / "best").iterdir():
        f.unlink()
    assert same(DSVAE.from_pretrained(trained), latest)  # no best: the latest
    for f in (trained / "checkpoints" / "latest").iterdir():
        f.unlink()
    with pytest.raises(DSVAEError, match="no checkpoint under checkpoints/best or checkpoints/latest"):
        DSVAE.from_pretrained(trained)
