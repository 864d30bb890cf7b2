"""``dsvae data``: exit status 0 on success, 2 with one clear line on bad input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dsvae.cli import main
from dsvae.data import open_dataset
from dsvae.data.shapes import WOBBLE


def test_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "shapes"
    argv = ["data", "shapes", "--out", str(out), "--train", "12", "--test", "4", "--frames", "5", "--seed", "1"]
    assert main([*argv, "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out
    data = open_dataset(out, "test")
    assert len(data) == 4 and data.info.n_frames == 5 and data.info.extra["seed"] == 1
    assert data.info.extra["wobble"] == WOBBLE == 2  # the default


def test_shapes_without_wobble_draws_straight_paths(tmp_path: Path) -> None:
    out = tmp_path / "straight"
    assert main(["data", "shapes", "--out", str(out), "--train", "6", "--test", "2", "--wobble", "0", "--quiet"]) == 0
    data = open_dataset(out, "train")
    assert data.info.extra["wobble"] == 0
    lit = np.asarray(data.frames[:]).max(-1) > 0  # (N, T, H, W)
    rows, cols = np.arange(lit.shape[2]), np.arange(lit.shape[3])
    cy = (lit.sum(3) * rows).sum(2) / lit.sum((2, 3))  # (N, T) centre of the shape
    cx = (lit.sum(2) * cols).sum(2) / lit.sum((2, 3))
    for c in (cy, cx):  # a constant step per frame on both axes (0 across the direction)
        np.testing.assert_allclose(np.diff(c, 2, axis=1), 0.0, atol=1e-9)


def test_array_with_labels(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((10, 3, 8, 8, 1), np.uint8))
    (tmp_path / "y.csv").write_text("kind,move\n" + "".join(f"{i % 2},{i % 3}\n" for i in range(10)))
    argv = ["data", "array", "--from-array", str(tmp_path / "x.npy"), "--out", str(tmp_path / "o"),
            "--labels", str(tmp_path / "y.csv"), "--dynamic", "move", "--test-fraction", "0.2", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    info = open_dataset(tmp_path / "o").info
    assert info.splits == {"train": 8, "test": 2} and [f.kind for f in info.factors] == ["static", "dynamic"]


def test_fsdd(fsdd_dir: Path, tmp_path: Path) -> None:
    assert main(["data", "fsdd", "--recordings", str(fsdd_dir), "--out", str(tmp_path / "f"), "--frames", "16"]) == 0
    assert open_dataset(tmp_path / "f", "test").frames.shape == (300, 16, 80)


def test_moving_mnist_from_npy(tmp_path: Path) -> None:
    np.save(tmp_path / "seq.npy", np.zeros((20, 10, 64, 64), np.uint8))
    assert main(["data", "moving-mnist", "--from-npy", str(tmp_path / "seq.npy"), "--out", str(tmp_path / "m")]) == 0
    assert open_dataset(tmp_path / "m").info.splits == {"train": 9, "test": 1}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["data", "sprites", "--sheets", "{tmp}/nowhere"], "sheets folder .*nowhere does not exist"),
        (["data", "moving-mnist", "--mnist", "{tmp}", "--train", "5"], r"train-images-idx3-ubyte\(\.gz\) is missing"),
        (["data", "fsdd", "--recordings", "{tmp}/nowhere"], "FSDD recordings folder .* does not exist"),
        (["data", "shapes", "--train", "0"], "--train must be >= 1"),
        (["data", "shapes", "--frames", "40"], "do not fit"),
        (["data", "shapes", "--wobble", "-1"], "--wobble must be >= 0"),
        (["data", "array", "--from-array", "{tmp}/x.npy"], "array file .*x.npy does not exist"),
        (["data", "frames", "--from-frames", "{tmp}"], "has no sequence folders"),
    ],
    ids=["sprites", "moving-mnist", "fsdd", "shapes-count", "shapes-fit", "shapes-wobble", "array", "frames"],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv, message) -> None:
    (tmp_path / "empty").mkdir()
    argv = [a.replace("{tmp}", str(tmp_path / "empty")) for a in argv]
    assert main([*argv, "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dsvae: error: ") and "\n" not in err
    assert re.search(message, err)
    assert not (tmp_path / "out").exists()


def test_sprites_download_failure_exits_2_and_writes_nothing(tmp_path: Path, serve, capsys) -> None:
    (tmp_path / "empty").mkdir()
    argv = ["data", "sprites", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"),
            "--base-url", serve(tmp_path / "empty"), "--quiet"]  # fmt: skip
    assert main(argv) == 2
    assert "HTTP 404" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
