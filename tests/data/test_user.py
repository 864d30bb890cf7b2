"""Users' own data: arrays, frame folders and label files, with a clear error for each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dsvae.data import build_from_array, build_from_frames, open_dataset
from dsvae.errors import DSVAEError


def video(n: int = 10, t: int = 4, size: int = 8, c: int = 3) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(n, t, size, size, c), dtype=np.uint8)


def save(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


def write_frames(root: Path, array: np.ndarray, mode: str = "RGB") -> Path:
    """One folder per sequence, named so that plain sorting would put seq10 before seq2."""
    for i, seq in enumerate(array):
        folder = root / f"seq{i}"
        folder.mkdir(parents=True)
        for t, frame in enumerate(seq):
            Image.fromarray(frame.squeeze(-1) if mode == "L" else frame, mode).save(folder / f"frame{t}.png")
    return root


def test_uint8_array_round_trip_and_split(tmp_path: Path) -> None:
    x = video(20)
    out = build_from_array(tmp_path / "out", save(tmp_path / "x.npy", x), test_fraction=0.25, seed=3)
    train, test = open_dataset(out, "train"), open_dataset(out, "test")
    assert (len(train), len(test)) == (15, 5) and train.info.dtype == "uint8" and train.info.factors == []
    assert train.info.extra["test_fraction"] == 0.25 and train.frames.shape == (15, 4, 8, 8, 3)
    stored = np.concatenate([train.frames, test.frames])
    assert sorted(map(bytes, stored)) == sorted(map(bytes, x))  # every sequence exactly once
    assert np.allclose(train[0]["x"].numpy(), np.moveaxis(train.frames[0], -1, -3) / 255.0)


def test_float_images_grayscale_and_vectors(tmp_path: Path) -> None:
    gray = np.random.default_rng(0).random((6, 3, 8, 8), dtype=np.float32)  # (N, T, H, W) in [0, 1]
    out = build_from_array(tmp_path / "g", save(tmp_path / "g.npy", gray), test_fraction=0)
    data = open_dataset(out)
    assert data.info.dtype == "float32" and data.info.frame_shape == [8, 8, 1] and set(data.info.splits) == {"train"}
    assert np.array_equal(data[0]["x"][:, 0].numpy(), gray[0])  # floats are stored as they are
    vectors = np.random.default_rng(0).normal(size=(6, 5, 7))
    np.savez(tmp_path / "v.npz", frames=vectors, other=np.zeros(3))
    data = open_dataset(build_from_array(tmp_path / "v", tmp_path / "v.npz", test_fraction=0.5))
    assert data.info.layout == "vector" and data[0]["x"].shape == (5, 7)


def test_labels_from_npy_and_csv(tmp_path: Path) -> None:
    x = save(tmp_path / "x.npy", video(6))
    np.save(tmp_path / "y.npy", np.array([[0, 2], [1, 0], [1, 1], [0, 0], [1, 2], [0, 1]]))
    out = build_from_array(tmp_path / "a", x, tmp_path / "y.npy", ["who", "what"], ["what"], test_fraction=0)
    info = open_dataset(out).info
    assert [(f.name, f.kind, f.classes) for f in info.factors] == [
        ("who", "static", ["0", "1"]), ("what", "dynamic", ["0", "1", "2"])
    ]  # fmt: skip
    np.testing.assert_array_equal(open_dataset(out).labels[:, 1], [2, 0, 1, 0, 2, 1])
    (tmp_path / "y.csv").write_text("colour,move\nred,3\nblue,0\nred,1\ngreen,2\nred,0\nblue,1\n")
    data = open_dataset(build_from_array(tmp_path / "b", x, tmp_path / "y.csv", dynamic=["move"], test_fraction=0))
    assert data.info.factors[0].classes == ["blue", "green", "red"] and data.info.factors[1].n_classes == 4
    np.testing.assert_array_equal(data.labels[:, 0], [2, 0, 2, 1, 2, 0])


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 3), np.uint8), r"has shape \(2, 3\); expected \(N, T, H, W, C\)"),
        (np.zeros((2, 3, 4, 4, 3, 1), np.uint8), "expected"),
        (np.zeros((2, 3, 4, 4, 3), np.int64), "has dtype int64"),
        (np.zeros((2, 3, 5), np.uint8), "feature vectors must be floats"),
        (np.full((2, 3, 4, 4, 1), 1.5, np.float32), r"sequence \d has values from 1.5 to 1.5; .* in \[0, 1\]"),
        (np.full((2, 3, 5), np.nan, np.float32), "values must be finite"),
        (np.zeros((2, 3, 3, 16, 16), np.uint8), "16 channels in its last axis; frames are channels-last .*moveaxis"),
        (np.zeros((0, 3, 4, 4, 3), np.uint8), "no data"),
    ],
    ids=["rank-2", "rank-6", "int64", "uint8-vectors", "out-of-range", "nan", "channels-first", "empty"],
)  # fmt: skip
def test_bad_arrays_are_clear_errors(tmp_path: Path, array: np.ndarray, message: str, no_leftovers) -> None:
    path = save(tmp_path / "x.npy", array)
    with pytest.raises(DSVAEError, match=message) as err:
        build_from_array(tmp_path / "out", path, test_fraction=0)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert no_leftovers(tmp_path / "out")


def test_bad_array_files_are_clear_errors(tmp_path: Path, no_leftovers) -> None:
    (tmp_path / "x.npy").write_bytes(b"not numpy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "two.npz", a=video(2), b=video(2))
    cases = {
        "missing.npy": "does not exist",
        "x.npy": r"x\.npy is not a readable numpy array file",
        "obj.npy": r"obj\.npy is not a readable numpy array file",
        "two.npz": r"holds arrays \['a', 'b'\]; name the frames array 'frames'",
    }
    for name, message in cases.items():
        with pytest.raises(DSVAEError, match=message):
            build_from_array(tmp_path / "out", tmp_path / name)
    assert no_leftovers(tmp_path / "out")


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda p: np.save(p, np.arange(5)), r"y\.npy has 5 rows, but there are 6 sequences"),
        (lambda p: np.save(p, np.zeros((6, 2), np.float32)), "must hold integers"),
        (lambda p: np.save(p, -np.ones(6, np.int64)), "negative labels"),
        (lambda p: np.save(p, np.zeros((6, 2, 2), np.int64)), r"must be \(N,\) or \(N, K\)"),
        (lambda p: p.with_suffix(".csv").write_text("a,b\n1,2\n3\n"), r"line 3: 1 values, the header has 2"),
        (lambda p: p.with_suffix(".csv").write_text("a\n1\n2\n"), r"y\.csv has 2 rows, but there are 6 sequences"),
        (lambda p: p.with_suffix(".csv").write_text("a,b\n1,x\n3,\n"), "line 3: an empty value in column 'b'"),
        (lambda p: p.with_suffix(".txt").write_text("1\n"), r"must be \.npy \(integers\) or \.csv"),
    ],
    ids=["rows", "floats", "negative", "rank-3", "csv-ragged", "csv-short", "csv-empty", "suffix"],
)
def test_label_file_that_does_not_match_is_a_clear_error(tmp_path: Path, write, message: str, no_leftovers) -> None:
    x = save(tmp_path / "x.npy", video(6))
    write(tmp_path / "y.npy")
    labels = next(p for p in tmp_path.iterdir() if p.stem == "y")
    with pytest.raises(DSVAEError, match=message) as err:
        build_from_array(tmp_path / "out", x, labels)
    assert str(labels) in str(err.value)
    assert no_leftovers(tmp_path / "out")


def test_label_names_and_dynamic_factors_are_checked(tmp_path: Path) -> None:
    x = save(tmp_path / "x.npy", video(6))
    np.save(tmp_path / "y.npy", np.zeros((6, 2), np.int64))
    with pytest.raises(DSVAEError, match="2 columns, but 1 factor names"):
        build_from_array(tmp_path / "out", x, tmp_path / "y.npy", ["a"])
    with pytest.raises(DSVAEError, match=r"dynamic factor\(s\) \['c'\] are not among"):
        build_from_array(tmp_path / "out", x, tmp_path / "y.npy", ["a", "b"], ["c"])


def test_frames_folders_in_natural_order_with_labels(tmp_path: Path) -> None:
    x = video(12, t=3)
    root = write_frames(tmp_path / "frames", x)
    np.save(tmp_path / "y.npy", np.arange(12) % 4)
    out = build_from_frames(tmp_path / "out", root, tmp_path / "y.npy", test_fraction=0)
    data = open_dataset(out)
    np.testing.assert_array_equal(data.frames, x)  # seq2 before seq10, frame order kept
    np.testing.assert_array_equal(data.labels[:, 0], np.arange(12) % 4)
    assert data.info.extra["sequences"][:3] == ["seq0", "seq1", "seq2"]
    assert data.info.sources["frames"].startswith("sha256-manifest:")


def test_frames_grayscale_crop_and_resize(tmp_path: Path) -> None:
    root = write_frames(tmp_path / "frames", video(3, t=5, c=1), mode="L")
    (root / "seq1" / "frame4.png").unlink()  # unequal lengths are fine when cropping to 4 frames
    data = open_dataset(build_from_frames(tmp_path / "out", root, n_frames=4, size=16, test_fraction=0))
    assert data.frames.shape == (3, 4, 16, 16, 1)


def test_bad_frames_are_clear_errors(tmp_path: Path, no_leftovers) -> None:
    out = tmp_path / "out"
    root = write_frames(tmp_path / "frames", video(3, t=3))
    (root / "seq1" / "frame2.png").unlink()
    with pytest.raises(DSVAEError, match=r"seq1 has 2 frames but .*seq0 has 3: sequences must be of equal length"):
        build_from_frames(out, root)
    (root / "seq1" / "frame2.png").write_text("not an image")
    with pytest.raises(DSVAEError, match=r"seq1/frame2\.png is not a readable image"):
        build_from_frames(out, root)
    Image.new("RGB", (9, 8)).save(root / "seq1" / "frame2.png", format="PNG")
    with pytest.raises(DSVAEError, match=r"frame2\.png is 9x8 but earlier frames are 8x8"):
        build_from_frames(out, root)
    Image.new("L", (8, 8)).save(root / "seq1" / "frame2.png", format="PNG")
    with pytest.raises(DSVAEError, match=r"frame2\.png has 1 channel\(s\) \(L\) but earlier frames have 3"):
        build_from_frames(out, root)
    assert open_dataset(build_from_frames(out, root, channels=3, test_fraction=0)).frames.shape == (3, 3, 8, 8, 3)
    (root / "stray.txt").write_text("x")
    with pytest.raises(DSVAEError, match=r"stray\.txt is not a folder"):
        build_from_frames(tmp_path / "out2", root)
    with pytest.raises(DSVAEError, match="does not exist"):
        build_from_frames(tmp_path / "out2", tmp_path / "nowhere")
    assert no_leftovers(tmp_path / "out2")


def test_test_fraction_is_checked(tmp_path: Path) -> None:
    x = save(tmp_path / "x.npy", video(3))
    with pytest.raises(DSVAEError, match=r"test fraction must be in \[0, 1\)"):
        build_from_array(tmp_path / "out", x, test_fraction=1.0)
    with pytest.raises(DSVAEError, match="too few"):
        build_from_array(tmp_path / "out", save(tmp_path / "one.npy", video(1)), test_fraction=0.5)
