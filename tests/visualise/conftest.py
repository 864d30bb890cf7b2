"""Fixtures for the picture tests: a small shapes folder and tiny run folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dsvae.config import DSVAEConfig, to_dict
from dsvae.data import DataFolderWriter, DataInfo, Factor, build_shapes
from dsvae.io import write_json
from dsvae.model import DSVAE
from dsvae.run_config import DataConfig, RunConfig

TINY_MODEL = DSVAEConfig(n_frames=4, image_size=32, dim_z=4, dim_f=8, dim_h=16, dim_hidden=32, n_channels=8)
VECTOR_MODEL = DSVAEConfig(n_frames=6, frame_dim=20, likelihood="gaussian", dim_z=4, dim_f=8, dim_h=16, dim_hidden=32)


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shapes(tmp_path_factory.mktemp("data") / "shapes", n_train=16, n_test=16, n_frames=4, image_size=32)


def make_run(run: Path, data_dir: Path, model_cfg: DSVAEConfig = TINY_MODEL, curves: bool = True) -> Path:
    """A run folder as the training loop leaves it: config, a checkpoint and (optionally) metric lines."""
    torch.manual_seed(0)
    write_json(run / "config.json", to_dict(RunConfig(model=model_cfg, data=DataConfig(path=str(data_dir)))))
    DSVAE(model_cfg).save_pretrained(run / "checkpoints" / "latest")
    if curves:
        lines = [{"step": s, "split": "train", "time": s / 10, "loss": 5000 / (1 + s), "recon": 4000 / (1 + s),
                  "kl_f": 3.0 + s / 100, "kl_z": 1.0, "lr": 1e-3} for s in range(0, 200, 10)]  # fmt: skip
        lines += [{"step": s, "split": "test", "time": s / 10, "loss": 5200 / (1 + s), "recon": 4100 / (1 + s),
                   "kl_f": 3.0, "kl_z": 1.2} for s in (50, 100, 150)]  # fmt: skip
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"step": 2')  # torn line
    return run


def vector_folder(out: Path, with_features: bool) -> Path:
    """A small log-mel-like data folder (T=6, V=20), optionally with the feature settings audio needs."""
    rng = np.random.default_rng(0)
    extra = {}
    if with_features:
        extra = {"features": {"sample_rate": 8000, "window": 320, "hop": 160, "n_fft": 512, "n_mels": 20,
                              "fmin": 0.0, "fmax": 4000.0, "floor": 1e-6},
                 "normalisation": {"mean": [-6.0] * 20, "std": [2.0] * 20}}  # fmt: skip
    with DataFolderWriter(out) as w:
        for split in ("train", "test"):
            w.frames(split, (8, 6, 20), np.float32)[:] = rng.normal(size=(8, 6, 20))
            w.labels(split, np.stack([np.arange(8) % 2, np.arange(8) % 4], 1))
        info = DataInfo(name="speech", layout="vector", frame_shape=[20], n_frames=6, dtype="float32",
                        splits={"train": 8, "test": 8}, factors=[Factor("digit", "dynamic", ["0", "1"]),
                        Factor("speaker", "static", ["a", "b", "c", "d"])], extra=extra)  # fmt: skip
        return w.commit(info)
