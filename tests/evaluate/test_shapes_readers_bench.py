"""The shapes two-instrument benchmark: the judge and the closed-form readers side by side."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import make_run

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "shapes_readers.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("shapes_readers", SCRIPT)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_both_instruments_score_every_kind_of_sequence(
    shapes_dir: Path, judge_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load_script()
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


def test_a_missing_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = load_script()
    with pytest.raises(SystemExit) as exc:
        module.main([str(tmp_path / "nowhere"), "--judge", str(tmp_path / "judge")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("shapes_readers.py: error:") and "nowhere" in err[-1]
