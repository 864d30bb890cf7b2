"""The one folder swap: built beside the target, swapped in by two renames, leftovers recovered."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsvae.errors import DSVAEError
from dsvae.outputs import atomic_folder, old_path, recover


def write(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "f.txt").write_text(text)


def test_a_finished_block_replaces_the_target_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    write(tmp_path / "out", "old")
    with atomic_folder(tmp_path / "out") as tmp:
        (tmp / "f.txt").write_text("new")
        assert (tmp_path / "out" / "f.txt").read_text() == "old"  # untouched until the block ends
    assert (tmp_path / "out" / "f.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_failed_block_keeps_the_target(tmp_path: Path) -> None:
    write(tmp_path / "out", "old")
    with pytest.raises(RuntimeError), atomic_folder(tmp_path / "out") as tmp:
        (tmp / "f.txt").write_text("half")
        raise RuntimeError("killed")
    assert (tmp_path / "out" / "f.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_os_error_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DSVAEError, match=r"could not write .*out: No space"), atomic_folder(tmp_path / "out"):
        raise OSError(28, "No space left on device")


def test_a_kill_between_the_renames_is_recovered(tmp_path: Path) -> None:
    """After the first rename only .NAME.old holds the output: it is put back; beside a complete
    target it is removed; the next write starts from there."""
    target = tmp_path / "out"
    write(old_path(target), "kept")
    recover(target)
    assert (target / "f.txt").read_text() == "kept" and not old_path(target).exists()

    write(old_path(target), "stale")
    recover(target)
    assert (target / "f.txt").read_text() == "kept" and not old_path(target).exists()

    write(old_path(target), "stale")
    target_text = (target / "f.txt").read_text()
    with atomic_folder(target) as tmp:
        (tmp / "f.txt").write_text(target_text + "+1")
    assert (target / "f.txt").read_text() == "kept+1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
