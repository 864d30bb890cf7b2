"""The FSDD and Moving MNIST benchmark, in its seconds-long smoke form on synthetic source files."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest


@pytest.mark.slow
def test_fsdd_smoke_writes_both_protocols(load_benchmark: Callable[[str], ModuleType], tmp_path: Path) -> None:
    module = load_benchmark("other_experiments")
    argv = ["fsdd", "--smoke", "--out", str(tmp_path), "--steps", "3", "--samples", "1", "--quiet"]
    assert module.main([*argv, "--judge-set", "arch=conv-tcn"]) == 0
    r = json.loads((tmp_path / "results.json").read_text())
    # 2 digits x 2 speakers x 5 test recordings: 190 pairs in all, 10 x 10 of them across the two digits
    assert r["pairs"] == 190 and r["cross_digit_pairs"] == 100
    for key in ("eer_f", "eer_z", "eer_f_cross_digit", "eer_z_cross_digit", "dynamics_kept_digit",
                "content_kept_speaker"):  # fmt: skip
        assert 0.0 <= r[key] <= 1.0, key
    table = (tmp_path / "table.md").read_text()
    assert "DSVAE (Li & Mandt 2018) (TIMIT, published) | 4.82 | 18.89" in table
    assert "100 cross-digit pairs" in table
    assert "(conv-tcn)" in table.splitlines()[0]  # the judge was trained with the --judge-set override
    assert (tmp_path / "eval" / "metrics.json").is_file()


@pytest.mark.slow
def test_moving_mnist_smoke_scores_every_head(load_benchmark: Callable[[str], ModuleType], tmp_path: Path) -> None:
    module = load_benchmark("other_experiments")
    argv = ["moving-mnist", "--smoke", "--out", str(tmp_path), "--steps", "2", "--samples", "1", "--quiet"]
    assert module.main(argv) == 0
    r = json.loads((tmp_path / "results.json").read_text())
    assert set(r["dynamics_kept"]) == {"direction_0"}  # one digit a canvas: its slot's labels are the picture's
    assert set(r["content_kept"]) == {"digit_0", "all"}
    assert r["content_kept"]["all"] == r["content_kept"]["digit_0"]  # "all" of one attribute is that attribute
    for key in ("real", "reconstruction", "swap_follows_f", "swap_follows_z"):
        assert set(r[key]) == {"direction_0", "digit_0"} and all(0.0 <= v <= 1.0 for v in r[key].values())
    assert (tmp_path / "table.md").read_text().count("\n| ") >= 2 + 2 + 4


@pytest.mark.slow
def test_moving_mnist_with_two_judges_reports_each_and_their_disagreement(
    load_benchmark: Callable[[str], ModuleType], tmp_path: Path
) -> None:
    module = load_benchmark("other_experiments")
    argv = ["moving-mnist", "--smoke", "--out", str(tmp_path), "--steps", "2", "--samples", "1", "--quiet"]
    assert module.main(argv) == 0  # trains the run and a first judge
    other = tmp_path / "judge-b"
    module.train_and_save(tmp_path / "data", other, dataclasses.replace(module.SMOKE_JUDGE, seed=1, arch="conv-tcn"))
    again = [*argv, "--out", str(tmp_path / "two"), "--run", str(tmp_path / "run"),
             "--judge", str(tmp_path / "judge"), "--judge", str(other)]  # fmt: skip
    two = tmp_path / "two"
    two.mkdir()
    (two / "data").symlink_to(tmp_path / "data")  # the smoke data of the first call
    assert module.main(again) == 0
    one = json.loads((tmp_path / "results.json").read_text())
    r = json.loads((two / "results.json").read_text())
    assert list(r["by_judge"]) == ["judge", "judge-b"]
    for key in ("dynamics_kept", "content_kept", "real", "reconstruction", "swap_follows_f", "swap_follows_z"):
        assert r[key] == r["by_judge"]["judge"][key] == one[key], key  # the first judge's figures, as when alone
    m = json.loads((two / "eval" / "metrics.json").read_text())
    for label in ("judge", "judge-b"):  # each block is its own judge's
        assert r["by_judge"][label]["real"] == m["by_judge"][label]["real"]["accuracy"]
    spreads = [abs(r["by_judge"]["judge"][k][h] - r["by_judge"]["judge-b"][k][h])
               for k in ("real", "reconstruction") for h in r[k]]  # fmt: skip
    assert r["max_disagreement"]["spread"] >= max(spreads) - 1e-9
    table = (two / "table.md").read_text()
    assert table.count("### ") == 2 and "(conv-lstm)" in table and "(conv-tcn)" in table
    assert table.rstrip().splitlines()[-1].startswith("Largest disagreement between the judges:")


def test_a_missing_data_folder_is_one_line(
    load_benchmark: Callable[[str], ModuleType], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load_benchmark("other_experiments")
    argv = ["fsdd", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), "train.lr=1e-3"]
    assert module.main(argv) == 2  # an override after the options is parsed as one, not refused
    err = capsys.readouterr().err.strip()
    assert err.startswith("other_experiments: error: data folder") and "\n" not in err
    assert not (tmp_path / "out").exists()
