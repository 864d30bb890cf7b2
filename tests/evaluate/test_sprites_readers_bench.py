"""The Sprites reader benchmark: the judges and the template reader side by side, and their confusions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from .conftest import make_run


def test_the_confusions_add_up_to_the_accuracies(
    load_benchmark: Callable[[str], ModuleType],
    shapes_dir: Path,
    judge_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each instrument's confusion on dynamics kept has a row per true class that sums to its sequences,
    and its diagonal over the total is the accuracy the table reports."""
    module = load_benchmark("sprites_readers")
    run = make_run(tmp_path / "run", shapes_dir)
    n = 60
    table = module.main([str(run), "--judge", str(judge_dir), "--factor", "direction", "--sequences", str(n),
                         "--confusion"])  # fmt: skip
    out = capsys.readouterr().out
    blocks = out.split("\ndynamics kept, ")[1:]
    assert [b.split(":")[0] for b in blocks] == ["template reader", str(judge_dir)]
    kept = table["dynamics kept (new f)"]
    for block, name in zip(blocks, ["template reader", str(judge_dir)], strict=True):
        rows = [line for line in block.splitlines() if line.startswith("| ") and not line.startswith("| true")]
        counts = np.array([[int(c) for c in line.strip("| ").split(" | ")[1:]] for line in rows])
        assert counts.shape == (4, 5) and counts.sum() == n  # four directions, and the unread column
        assert 100 * np.trace(counts[:, :4]) / n == pytest.approx(kept[name], abs=1e-9)
