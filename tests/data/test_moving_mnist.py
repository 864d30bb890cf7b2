"""Moving MNIST: paths stay inside and bounce, seeds reproduce, splits use disjoint digit images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dsvae.data import build_moving_mnist, moving_mnist_from_npy, open_dataset
from dsvae.data.moving_mnist import render, trajectories
from dsvae.errors import DSVAEError

SPAN = 64 - 28


def test_paths_stay_inside_and_bounce_off_the_walls() -> None:
    speed = 3.0
    pos, _ = trajectories(500, 2, 40, (speed, speed), np.random.default_rng(0), SPAN)  # (N, T, D, 2)
    assert pos.min() == 0 and pos.max() == SPAN  # reaches the walls, never beyond
    step = np.diff(pos, axis=1)  # (N, T-1, D, 2)
    turns = np.sign(step[:, 1:]) * np.sign(step[:, :-1]) < 0  # a velocity component flipped
    assert turns.sum() > 100
    at_turn = pos[:, 1:-1][turns]  # the position between the two steps
    near_wall = (at_turn <= speed + 1) | (at_turn >= SPAN - speed - 1)
    assert near_wall.all()  # only walls turn a digit around
    assert np.abs(step).max() <= speed + 1  # and nothing else moves it faster


def test_render_overlays_digits_by_maximum() -> None:
    digits = np.zeros((1, 2, 28, 28), np.uint8)
    digits[0, 0], digits[0, 1] = 100, 200
    positions = np.array([[[[0, 0], [10, 20]]]])  # (N=1, T=1, D=2, 2)
    frame = render(digits, positions)[0, 0]
    assert frame.shape == (64, 64)
    assert (frame[:10, :28] == 100).all() and (frame[10:38, 20:48] == 200).all()  # overlap takes the max
    assert frame[38:].max() == 0 and frame[:, 48:].max() == 0


def test_build_uses_train_digits_for_train_and_test_digits_for_test(fake_mnist: Path, tmp_path: Path) -> None:
    out = build_moving_mnist(tmp_path / "mm", fake_mnist, n_train=40, n_test=30, n_frames=5, n_digits=1, verify=False)
    for split, (lo, hi) in {"train": (1, 127), "test": (128, 254)}.items():
        data = open_dataset(out, split)
        x = data.frames  # (N, 5, 64, 64, 1); each fake digit is a solid square of its own value
        values = set(np.unique(x).tolist()) - {0}
        assert values and lo <= min(values) and max(values) <= hi
        value = x.reshape(len(x), -1).max(axis=1)  # the one digit image each sequence drew
        np.testing.assert_array_equal(data.labels[:, 1], value % 10)  # its class is the digit label
        assert ((x > 0).reshape(len(x), 5, -1).sum(axis=2) == 28 * 28).all()  # the whole digit in every frame


def test_same_seed_same_data_and_other_seed_other_data(fake_mnist: Path, tmp_path: Path) -> None:
    def build(name: str, seed: int) -> np.ndarray:
        return open_dataset(build_moving_mnist(tmp_path / name, fake_mnist, 20, 10, seed=seed, verify=False)).frames

    a, b, c = build("a", 1), build("b", 1), build("c", 2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_factors_and_labels(fake_mnist: Path, tmp_path: Path) -> None:
    data = open_dataset(build_moving_mnist(tmp_path / "mm", fake_mnist, 64, 8, n_digits=2, verify=False), "train")
    assert [(f.name, f.kind, f.n_classes) for f in data.info.factors] == [
        ("direction_0", "dynamic", 8), ("direction_1", "dynamic", 8),
        ("digit_0", "static", 10), ("digit_1", "static", 10),
    ]  # fmt: skip
    assert data.labels.shape == (64, 4) and data.labels[:, :2].max() < 8 and data.labels[:, 2:].max() < 10
    assert data[0]["x"].shape == (8, 1, 64, 64)


def test_bad_options_are_clear_errors(fake_mnist: Path, tmp_path: Path, no_leftovers) -> None:
    with pytest.raises(DSVAEError, match="speed must satisfy"):
        build_moving_mnist(tmp_path / "mm", fake_mnist, speed=(5.0, 50.0), verify=False)
    with pytest.raises(DSVAEError, match="has MD5"):
        build_moving_mnist(tmp_path / "mm", fake_mnist, 10, 10)
    assert no_leftovers(tmp_path / "mm")


def test_mnist_test_seq_format_loads_without_labels(tmp_path: Path) -> None:
    source = np.random.default_rng(0).integers(0, 256, size=(20, 10, 64, 64), dtype=np.uint8)  # (T, N, H, W)
    np.save(tmp_path / "mnist_test_seq.npy", source)
    out = moving_mnist_from_npy(tmp_path / "mm", tmp_path / "mnist_test_seq.npy", test_fraction=0.2, seed=0)
    train, test = open_dataset(out, "train"), open_dataset(out, "test")
    assert (len(train), len(test)) == (8, 2) and train.info.factors == [] and train.info.n_frames == 20
    seen = []
    for data in (train, test):
        for i in range(len(data)):
            match = [n for n in range(10) if np.array_equal(data.frames[i, ..., 0], source[:, n])]
            assert len(match) == 1  # each stored sequence is one source sequence, time-first undone
            seen += match
    assert sorted(seen) == list(range(10))
    item = train[0]
    assert item["x"].shape == (20, 1, 64, 64) and item["labels"].shape == (0,)


@pytest.mark.parametrize(("array", "message"), [
    (np.zeros((20, 3, 64, 64), np.float32), "must be a uint8 array"),
    (np.zeros((3, 64, 64), np.uint8), "must be a uint8 array"),
])  # fmt: skip
def test_mnist_test_seq_wrong_rank_or_dtype(tmp_path: Path, array: np.ndarray, message: str, no_leftovers) -> None:
    np.save(tmp_path / "seq.npy", array)
    with pytest.raises(DSVAEError, match=message):
        moving_mnist_from_npy(tmp_path / "mm", tmp_path / "seq.npy")
    assert no_leftovers(tmp_path / "mm")
