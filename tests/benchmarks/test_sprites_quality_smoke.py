"""The time-to-quality benchmark, in its seconds-long smoke form (the real run is hours of CPU)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sprites_quality.py"


@pytest.mark.slow
def test_smoke_run_writes_rows_table_and_plot(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("sprites_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    argv = ["--smoke", "--out", str(tmp_path), "--steps", "6", "--chunk-steps", "3"]  # steps, not minutes: no clock
    argv.append("--quiet")
    assert module.main(argv) == 0
    rows = [json.loads(line) for line in (tmp_path / "quality.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [3, 6]  # the second chunk resumed the first
    assert set(rows[0]["content_kept"]) == {"shape", "colour", "all"}
    assert 0 <= rows[-1]["dynamics_kept"]["accuracy"] <= 1
    table = (tmp_path / "quality.md").read_text()
    assert "Minutes of training to each level" in table and table.count("\n| ") >= 2 + 3 + 4
    assert (tmp_path / "quality.svg").read_text().startswith("<svg")
    # two judges (the default design and conv-lstm): each one's figures, and their largest difference
    last = rows[-1]
    assert len(last["by_judge"]) == 2
    first, second = last["by_judge"].values()
    assert first["dynamics_kept"] == last["dynamics_kept"]["accuracy"]
    spread = last["judges_disagree"]["spread"]
    assert spread >= abs(first["dynamics_kept"] - second["dynamics_kept"]) - 1e-9
    assert spread >= max(abs(first["content_kept"][a] - second["content_kept"][a]) for a in ("shape", "colour")) - 1e-9
    assert "judges differ most (points)" in table
