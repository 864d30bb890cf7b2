"""The data folder and its Dataset: shapes and dtypes, batched reads, DataLoader workers, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

from dsvae.data import build_from_array, build_shapes, open_dataset
from dsvae.data.user import split_indices, write_sequences


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shapes(tmp_path_factory.mktemp("shapes") / "shapes", n_train=40, n_test=10, n_frames=6)


def test_items_have_the_documented_shapes_and_dtypes(shapes_folder: Path) -> None:
    data = open_dataset(shapes_folder, "train")
    item = data[3]
    assert item["x"].shape == (6, 3, 32, 32) and item["x"].dtype == torch.float32
    assert item["x"].min() >= 0 and item["x"].max() <= 1 and item["x"].max() > 0
    assert item["labels"].shape == (5,) and item["labels"].dtype == torch.int64 and item["index"] == 3
    assert isinstance(data.frames, np.memmap) and data.frames.dtype == np.uint8  # read lazily from disk
    torch.testing.assert_close(item["x"], torch.from_numpy(np.array(data.frames[3])).permute(0, 3, 1, 2) / 255.0)


def test_batched_reads_equal_item_reads(shapes_folder: Path) -> None:
    data = open_dataset(shapes_folder, "train")
    idx = [7, 2, 30]
    batch = data.get_batch(idx)
    assert batch["x"].shape == (3, 6, 3, 32, 32) and batch["labels"].shape == (3, 5)
    for b, i in enumerate(idx):
        assert torch.equal(batch["x"][b], data[i]["x"]) and torch.equal(batch["labels"][b], data[i]["labels"])
    assert torch.equal(data[idx]["x"], batch["x"])  # a list of indices reads the whole batch
    assert batch["x"][0].is_contiguous(memory_format=torch.channels_last)  # batches: NHWC in memory
    assert data[2]["x"].is_contiguous()  # items: contiguous, so collating them is a plain copy
    items = data.__getitems__(idx)
    assert [it["index"] for it in items] == idx and torch.equal(items[1]["x"], data[2]["x"])


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_reads_the_memory_map(shapes_folder: Path, workers: int) -> None:
    data = open_dataset(shapes_folder, "train")
    loader = DataLoader(data, batch_size=16, num_workers=workers)
    batches = list(loader)
    assert [len(b["index"]) for b in batches] == [16, 16, 8]
    x = torch.cat([b["x"] for b in batches])
    assert x.shape == (40, 6, 3, 32, 32) and torch.equal(x[5], data[5]["x"])
    batches_of_16 = BatchSampler(SequentialSampler(data), 16, drop_last=False)
    fast = DataLoader(data, batch_size=None, sampler=batches_of_16, num_workers=workers)
    assert torch.equal(torch.cat([b["x"] for b in fast]), x)


def test_vector_frames_and_zero_factors(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).normal(size=(9, 5, 4)).astype(np.float32)
    np.save(tmp_path / "v.npy", vectors)
    data = open_dataset(build_from_array(tmp_path / "v", tmp_path / "v.npy", test_fraction=0))
    assert data.info.factors == [] and data.labels.shape == (9, 0)
    item = data[0]
    assert item["x"].shape == (5, 4) and item["labels"].shape == (0,)
    torch.testing.assert_close(item["x"], torch.from_numpy(vectors[0]))
    batch = next(iter(DataLoader(data, batch_size=4)))
    assert batch["x"].shape == (4, 5, 4) and batch["labels"].shape == (4, 0)


class Interrupted:
    """An array-like whose second chunk read is interrupted, as by Ctrl-C."""

    shape, dtype = (64, 2, 512, 512, 3), np.dtype(np.uint8)  # 3 MiB per sequence: 21 per chunk

    def __init__(self) -> None:
        self.reads = 0

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        self.reads += 1
        if self.reads == 2:
            raise KeyboardInterrupt
        return np.zeros((len(idx), *self.shape[1:]), np.uint8)


def test_interrupted_build_leaves_the_previous_folder_untouched(shapes_folder: Path, tmp_path: Path) -> None:
    out = build_shapes(tmp_path / "out", n_train=4, n_test=2, n_frames=3)
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(KeyboardInterrupt):
        write_sequences(out, "interrupted", Interrupted(), split_indices(64, 0, 0))
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left behind
    assert open_dataset(out).info.name == "shapes"
