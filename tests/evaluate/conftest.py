"""Fixtures for the evaluation tests: a small labelled shapes folder, a judge trained on it, run folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dsvae.config import DSVAEConfig, to_dict
from dsvae.data import DataFolderWriter, DataInfo, Factor, build_shapes
from dsvae.evaluate.judge import JudgeConfig
from dsvae.evaluate.judge_train import train_and_save
from dsvae.io import write_json
from dsvae.model import DSVAE
from dsvae.run_config import DataConfig, RunConfig

# 8 frames of 32x32, the default set: over 4 frames its slow motion (1 px a frame) is too slight for a quick judge
TINY_MODEL = DSVAEConfig(n_frames=8, image_size=32, dim_z=4, dim_f=8, dim_h=16, dim_hidden=32, n_channels=8)
# a judge that learns the shapes set in seconds (frames shrunk to 16x16, clean training data; 400 steps left speed
# at chance); a quick stand-in: its accuracy on corrupted sequences is recorded but not held to a threshold
FAST_JUDGE = JudgeConfig(
    arch="conv-tcn", image_size=16, steps=800, lr=3e-3, threshold=0.9, augment=False, robust_threshold=0.0
)


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2000 training and 300 test sequences of 8 frames of 32x32x3 (builds in well under a second)."""
    return build_shapes(tmp_path_factory.mktemp("data") / "shapes", n_train=2000, n_test=300)


@pytest.fixture(scope="session")
def judge_dir(shapes_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("judges") / "shapes"
    train_and_save(shapes_dir, out, FAST_JUDGE)
    return out


def make_run(run: Path, data_dir: Path | str, model_cfg: DSVAEConfig = TINY_MODEL, seed: int = 0) -> Path:
    """A run folder as the training loop leaves it: config.json and checkpoints/latest (untrained weights)."""
    import torch

    torch.manual_seed(seed)
    write_json(run / "config.json", to_dict(RunConfig(model=model_cfg, data=DataConfig(path=str(data_dir)))))
    DSVAE(model_cfg).save_pretrained(run / "checkpoints" / "latest")
    return run


def unlabelled_copy(src: Path, out: Path) -> Path:
    """The same frames with no labelled factors (as a user's own unlabelled data)."""
    with DataFolderWriter(out) as w:
        for split in ("train", "test"):
            frames = np.load(src / split / "frames.npy")
            w.frames(split, frames.shape, np.uint8)[:] = frames
            w.labels(split, np.zeros((len(frames), 0), dtype=np.int64))
        info = DataInfo(name="unlabelled", layout="image", frame_shape=list(frames.shape[2:]), n_frames=frames.shape[1],
                        dtype="uint8", splits={"train": 2000, "test": 300}, factors=[])  # fmt: skip
        return w.commit(info)


def speech_like(out: Path, n_speakers: int = 3, n_digits: int = 4, per: int = 6, T: int = 6, V: int = 10) -> Path:
    """A vector data folder: each speaker adds its own spectral tilt (static), each digit a moving bump (dynamic)."""
    rng = np.random.default_rng(0)
    tilt = rng.normal(size=(n_speakers, V)).astype(np.float32)
    with DataFolderWriter(out) as w:
        splits = {}
        for split, n_rep in (("train", per), ("test", per // 2)):
            rows, labels = [], []
            for s in range(n_speakers):
                for d in range(n_digits):
                    for _ in range(n_rep):
                        x = np.tile(tilt[s], (T, 1)) + 0.1 * rng.normal(size=(T, V)).astype(np.float32)
                        x[np.arange(T), (np.arange(T) * (d + 1)) % V] += 3.0  # the digit's path through the bins
                        rows.append(x)
                        labels.append((d, s))
            w.frames(split, (len(rows), T, V), np.float32)[:] = np.stack(rows)
            w.labels(split, np.array(labels))
            splits[split] = len(rows)
        info = DataInfo(name="speech", layout="vector", frame_shape=[V], n_frames=T, dtype="float32", splits=splits,
                        factors=[Factor("digit", "dynamic", [str(d) for d in range(n_digits)]),
                                 Factor("speaker", "static", [f"s{s}" for s in range(n_speakers)])])  # fmt: skip
        return w.commit(info)
