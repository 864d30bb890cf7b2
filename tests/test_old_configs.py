"""Configs and checkpoints written before the KL weights moved from the model to the training config.

The dicts below hold the exact keys the earlier version wrote into ``RUN/config.json`` and into a
checkpoint's ``config.json`` (the KL weights in the model section).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from dsvae import DSVAE, DSVAEConfig
from dsvae.config import apply_overrides, from_dict, to_dict
from dsvae.objective import elbo_terms
from dsvae.run_config import RunConfig

OLD_MODEL = {
    "n_frames": 4, "channels": 3, "image_size": 16, "frame_dim": 0, "dim_z": 4, "dim_f": 8, "dim_h": 16,
    "dim_hidden": 32, "n_channels": 8, "encoder_channels": 0, "prior": "improved", "encoder": "factorised",
    "f_aggregate": "lstm", "likelihood": "bernoulli", "posterior_init_std": 0.0,
    "kl_f_weight": 0.5, "kl_z_weight": 2.0,
}  # fmt: skip
OLD_TRAIN = {
    "batch_size": 16, "lr": 0.001, "betas": [0.9, 0.999], "weight_decay": 0.0, "schedule": "cosine",
    "warmup_steps": 100, "min_lr_ratio": 0.1, "max_steps": 10000, "max_minutes": 0.0, "grad_clip": 10.0,
    "kl_warmup_steps": 0, "seed": 0, "device": "auto", "precision": "fp32", "channels_last": True,
    "compile": False, "log_every": 50, "eval_every": 500, "checkpoint_every": 500, "sample_every": 1000,
    "max_bad_steps": 20, "tensorboard": True,
}  # fmt: skip
OLD_RUN = {"model": OLD_MODEL, "data": {"path": "", "num_workers": 0, "test_batches": 0}, "train": OLD_TRAIN}


def test_an_old_run_config_keeps_its_kl_weights_in_the_training_section() -> None:
    cfg = from_dict(RunConfig, json.loads(json.dumps(OLD_RUN)))
    assert (cfg.train.kl_f_weight, cfg.train.kl_z_weight) == (0.5, 2.0)
    assert "kl_f_weight" not in to_dict(cfg)["model"]
    # every other value is read as written
    want = {k: v for k, v in OLD_MODEL.items() if not k.startswith("kl_")}
    assert to_dict(cfg.model) == want
    # fields added since (C-DSVAE's contrastive terms, the weight average) take their defaults: the run as it was
    added = {
        "ema_decay": 0.0,
        "contrastive_f_weight": 0.0,
        "contrastive_z_weight": 0.0,
        "contrastive_temperature": 0.5,
        "mi_fz_weight": 0.0,
    }
    assert {k: v for k, v in to_dict(cfg.train).items() if not k.startswith("kl_") or k == "kl_warmup_steps"} == {
        **OLD_TRAIN,
        **added,
        "betas": (0.9, 0.999),
    }
    assert not cfg.train.contrastive


def test_the_old_override_key_still_sets_the_weight() -> None:
    cfg = apply_overrides(RunConfig(), ["model.kl_z_weight=4"])
    assert cfg.train.kl_z_weight == 4.0 and cfg.train.kl_f_weight == 1.0


def test_an_old_checkpoint_loads_with_identical_weights_and_outputs(tmp_path: Path) -> None:
    """A save_pretrained folder of the earlier version (KL weights in its config.json) loads bit for bit."""
    model = DSVAE(DSVAEConfig(**{k: v for k, v in OLD_MODEL.items() if not k.startswith("kl_")}))
    model.save_pretrained(tmp_path / "m")
    written = json.loads((tmp_path / "m" / "config.json").read_text())
    written["config"] = {**written["config"], "kl_f_weight": 0.5, "kl_z_weight": 2.0}  # as the old version wrote it
    (tmp_path / "m" / "config.json").write_text(json.dumps(written))

    loaded = DSVAE.from_pretrained(tmp_path / "m")
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    x = torch.rand(2, 4, 3, 16, 16)
    model.eval()
    torch.manual_seed(3)
    want = elbo_terms(model(x), x).as_dict()
    torch.manual_seed(3)
    got = loaded(x).terms
    for k in want:
        assert torch.equal(want[k], got[k]), k


def test_a_weight_given_twice_takes_the_training_section() -> None:
    data = json.loads(json.dumps(OLD_RUN))
    data["train"]["kl_z_weight"] = 3.0
    cfg = from_dict(RunConfig, data)
    assert cfg.train.kl_z_weight == 3.0 and cfg.train.kl_f_weight == 0.5
