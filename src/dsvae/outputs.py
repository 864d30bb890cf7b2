"""Output folders: the one rule every command follows, staged writes, and leftovers of killed writes.

The rule for a folder the user names with ``--out``:

- a new or empty folder is used;
- a folder holding an earlier output of the same command (recognised by its marker file, e.g.
  ``meta.json`` of a data folder) is replaced, atomically, only when ``overwrite`` is given;
- any other non-empty folder, or a path that is a file, is refused.

Outputs derived inside a run by default (``RUN/eval``, ``RUN/show``) are refreshed without asking.

Everything is checked before any work starts, so a long build or training never fails at
the end because its output cannot be written. Every folder the package writes whole (data
folders, judges, checkpoints, evaluations, pictures, reports) goes through :func:`atomic_folder`:
it is built in a hidden sibling ``.NAME.<pid>.<random>.partial``, and swapped in by two renames
(the earlier folder to ``.NAME.old``, the new one into place). A kill leaves either folder
complete, never a mixture: a ``.partial`` left by a killed build is swept on the next write of
the same target (only siblings of this exact pattern whose process is gone), and a ``.old``
left between the two renames is put back or removed by :func:`recover`.

This file is the home of the mechanism rather than ``io.py`` because it is one with the rule
above and with the sweep of leftovers; ``io.py`` writes single files.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dsvae.errors import DSVAEError

PARTIAL_SUFFIX = ".partial"


def check_writable(path: str | Path, what: str = "output") -> None:
    """Refuse ``path`` unless it can be created (or written into) as a folder.

    Catches the cases that otherwise fail late with a traceback: ``path`` is a file, a parent
    is a regular file, or the nearest existing parent is read-only.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DSVAEError(f"{what} {path} is a file, not a folder; choose another path")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise DSVAEError(f"cannot create {what} {path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise DSVAEError(f"cannot write {what} {path}: {probe} is not writable; choose another path")


def is_empty_dir(path: Path, ignore: tuple[str, ...] = ()) -> bool:
    return path.is_dir() and all(p.name in ignore for p in path.iterdir())


def check_output_folder(
    path: str | Path,
    marker: str | Callable[[Path], bool],
    overwrite: bool,
    what: str,
    command: str,
    option: str = "--out",
) -> bool:
    """Apply the output-folder rule to ``path``; True if it holds an earlier output to replace.

    Args:
        path: the folder the user named.
        marker: the file name that marks an earlier output of this command (e.g. ``meta.json``),
            or a test of a folder where a file name is not enough.
        overwrite: the user passed ``--overwrite``.
        what: the kind of output, for messages (e.g. "data folder").
        command: the dsvae command that writes it (e.g. "data"), for messages.
        option: the option that named it, for messages.
    """
    path = Path(path)
    check_writable(path, what)
    if not path.exists() or is_empty_dir(path):
        return False
    earlier = marker(path) if callable(marker) else (path / marker).is_file()
    if not earlier:
        found = "" if callable(marker) else f" ({marker})"
        raise DSVAEError(
            f"{path} is not empty and is not a {what}: it holds no `dsvae {command}` output{found}; "
            f"choose another {option}"
        )
    if not overwrite:
        raise DSVAEError(f"{path} already holds a {what}; pass --overwrite to replace it, or choose another {option}")
    return True


def pid_alive(pid: int) -> bool:
    """True if a process with this id exists on this machine."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would end the process there; assume it lives
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def make_partial(target: str | Path) -> Path:
    """A new hidden sibling folder of ``target`` to build into: ``.NAME.<pid>.<random>.partial``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.{os.getpid()}."
    return Path(tempfile.mkdtemp(prefix=prefix, suffix=PARTIAL_SUFFIX, dir=target.parent))


def sweep_partials(target: str | Path) -> list[Path]:
    """Remove leftovers of killed writes of ``target``: its ``.NAME.*.partial`` siblings, nothing else.

    A sibling whose name carries the id of a live process is another write in progress and is
    kept. Returns the removed paths.
    """
    target = Path(target)
    if not target.parent.is_dir():
        return []
    # what make_partial (and tempfile.mkdtemp with the prefix ".NAME.") names: pid optional, 6+ random chars
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(?:(?P<pid>\d+)\.)?[a-z0-9_]{{6,}}\.partial$")
    removed = []
    for p in target.parent.iterdir():
        m = pattern.match(p.name)
        if m is None or p.is_symlink():
            continue
        if m["pid"] is not None and int(m["pid"]) != os.getpid() and pid_alive(int(m["pid"])):
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def old_path(target: str | Path) -> Path:
    """Where :func:`swap_in` keeps the earlier ``target`` between its two renames: ``.NAME.old``."""
    target = Path(target)
    return target.with_name(f".{target.name}.old")


def recover(target: str | Path) -> None:
    """Finish a swap that a kill interrupted: put ``.NAME.old`` back if ``target`` is missing, else remove it."""
    target, old = Path(target), old_path(target)
    if not old.is_dir() or old.is_symlink():
        return
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.rename(target)


def swap_in(tmp: Path, target: Path) -> None:
    """Rename the finished folder ``tmp`` over ``target`` (an older ``target`` is removed after)."""
    old = old_path(target)
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


class StagedFolder:
    """A folder being built beside ``target``: :meth:`commit` swaps it in, :meth:`discard` drops it.

    Opening one sweeps the leftovers of earlier killed writes of the same target first.
    """

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target)
        sweep_partials(self.target)
        recover(self.target)
        self.path = make_partial(self.target)

    def commit(self) -> Path:
        try:
            swap_in(self.path, self.target)
        except OSError as exc:
            raise DSVAEError(f"could not write {self.target}: {exc.strerror or exc}") from exc
        finally:
            self.discard()
        return self.target

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Build a folder in a hidden sibling and swap it in over ``target`` when the block succeeds.

    If the block fails (an error, Ctrl-C) the sibling is removed and ``target`` is untouched.
    """
    staged = StagedFolder(target)
    try:
        yield staged.path
    except OSError as exc:
        raise DSVAEError(f"could not write {staged.target}: {exc.strerror or exc}") from exc
    else:
        staged.commit()
    finally:
        staged.discard()
