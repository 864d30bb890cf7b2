"""The shapes two-instrument benchmark: the judge and the closed-form readers side by side."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import make_run


def test_both_instruments_score_every_kind_of_sequence(
    load_benchmark: Callable[[str], ModuleType],
    shapes_dir: Path,
    judge_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = load_benchmark("shapes_readers")
    run = make_run(tmp_path / "run", shapes_dir)
    table = module.main([str(run), "--judge", str(judge_dir), "--draws", "1"])
    assert set(table) == {
        ("real", "motion"), ("real", "colour"), ("real", "shape"),
        ("reconstructed", "motion"), ("reconstructed", "colour"), ("reconstructed", "shape"),
        ("dynamics kept (new f)", "motion"), ("content kept (new z)", "colour"), ("content kept (new z)", "shape"),
    }  # fmt: skip
    for factor in ("motion", "colour", "shape"):  # the closed form reads real data exactly
        assert table["real", factor][1] == 100.0
    assert table["real", "motion"][0] >= 90.0  # the fast judge passed its threshold on the same sequences
    # an untrained model draws no shape: neither instrument can find the labelled motion in most sequences
    assert table["dynamics kept (new f)", "motion"][1] < 50.0
    out = capsys.readouterr().out
    assert out.count("\n| ") == 1 + 9 and out.count("\n|-") == 1  # header, nine rows; one rule


def test_a_missing_run_is_one_line(
    load_benchmark: Callable[[str], ModuleType], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load_benchmark("shapes_readers")
    with pytest.raises(SystemExit) as exc:
        module.main([str(tmp_path / "nowhere"), "--judge", str(tmp_path / "judge")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("shapes_readers.py: error:") and "nowhere" in err[-1]
