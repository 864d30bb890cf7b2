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


def load_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("sprites_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_eval_at_ends_a_chunk_at_each_listed_step() -> None:
    module = load_module()
    args = module.argparse.Namespace(eval_at=[250, 500, 1000, 3000], steps=0, chunk_steps=None)
    chunks = module.chunk_budgets(args)
    assert [steps for _, steps in chunks] == [250, 250, 500, 2000]
    assert all(minutes == 0.0 for minutes, _ in chunks)  # counted in steps: no clock


def test_scaling_plot_puts_steps_on_a_log_axis() -> None:
    module = load_module()
    rows = [{"step": s, "reconstruction": {"motion": a, "hair": b}} for s, a, b in [(100, 0.2, 0.1), (1000, 0.5, 0.3),
                                                                                     (10000, 0.9, 0.8)]]  # fmt: skip
    svg = module.scaling_plot(rows, "t")
    xs = [float(p.split(",")[0]) for p in svg.split('points="')[1].split('"')[0].split()]
    # on a log axis a decade is the same width: 100 -> 1000 as wide as 1000 -> 10000
    assert abs((xs[1] - xs[0]) - (xs[2] - xs[1])) < 0.2
