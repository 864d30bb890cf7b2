"""``dsvae evaluate --out DIR``: metrics written elsewhere than the run, under the output-folder rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsvae.cli import main

from .conftest import make_run


def test_out_writes_there_and_replaces_only_with_overwrite(
    shapes_dir: Path, judge_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    out = tmp_path / "scores"
    argv = ["evaluate", str(run), "--judge", str(judge_dir), "--samples", "1", "--max-sequences", "16", "--quiet"]
    assert main([*argv, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "metrics.md"]
    assert not (run / "eval").exists()  # nothing in the run when --out names another folder
    first = json.loads((out / "metrics.json").read_text())
    assert first["run"] == str(run.resolve())

    (out / "metrics.json").write_text('{"mine": 1}\n')  # an earlier evaluation: kept without --overwrite
    capsys.readouterr()
    assert main([*argv, "--out", str(out), "seed=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --overwrite" in err
    assert json.loads((out / "metrics.json").read_text()) == {"mine": 1}

    assert main([*argv, "--out", str(out), "--overwrite", "seed=1"]) == 0
    assert json.loads((out / "metrics.json").read_text())["config"]["seed"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".scores.")] == []  # no staging left
