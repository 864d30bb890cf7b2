"""``dsvae quickstart``: a folder left by an earlier tour (of an older shapes recipe) is refused before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsvae.cli import main
from dsvae.data import build_shapes


def test_an_older_shapes_recipe_is_refused_before_training(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "qs"
    meta = build_shapes(out / "data", n_train=4, n_test=2) / "meta.json"
    old = json.loads(meta.read_text())
    meta.write_text(json.dumps({**old, "recipe_version": "1", "frame_shape": [64, 64, 3]}))
    assert main(["quickstart", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dsvae: error: ")
    assert "--overwrite" in err and str(out) in err
    assert sorted(p.name for p in out.iterdir()) == ["data"]  # no run, no judge started
