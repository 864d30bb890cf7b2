"""The run folder's lock: one training at a time writes a run folder.

``RUN/.lock`` holds the id of the process that trains the run. It is held with ``flock``, which
the kernel releases when the process dies, so a lock left by a killed run is never a dead end:
the next training takes it over and says so (the file still names the dead process). Two
trainings started on one folder at once: exactly one gets the lock, the other is refused
before it writes anything. The file itself is never deleted, because deleting a locked file
lets a third process lock a new file of the same name while the second still holds the old.
"""

from __future__ import annotations

import os
from pathlib import Path

from dsvae.errors import DSVAEError
from dsvae.outputs import pid_alive
from dsvae.run_folder import LOCK_NAME

try:
    import fcntl
except ImportError:  # Windows: no flock; the pid in the file is the only guard
    fcntl = None  # type: ignore[assignment]


class RunLock:
    """Hold ``RUN/.lock`` while a run is trained (use as a context manager or acquire/release)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._fd: int | None = None
        self.stale_pid: int | None = None  # the dead process whose lock was taken over, if any

    def acquire(self) -> None:
        """Take the lock, or raise :class:`DSVAEError` naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DSVAEError(f"cannot create the lock {self.path}: {exc.strerror or exc}") from exc
        previous = _read_pid(fd)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise DSVAEError(self._busy_message(previous)) from None
        elif previous is not None and previous != os.getpid() and pid_alive(previous):
            os.close(fd)
            raise DSVAEError(self._busy_message(previous))
        if previous is not None and previous != os.getpid():
            self.stale_pid = previous  # the lock was free, so its process is gone
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def check_free(self) -> None:
        """Raise the refusal :meth:`acquire` would give if another process holds the lock; take nothing."""
        if not self.path.is_file() or fcntl is None:
            return
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return  # unreadable: acquire will say so
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DSVAEError(self._busy_message(_read_pid(fd))) from None
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _busy_message(self, pid: int | None) -> str:
        who = f"process {pid}" if pid is not None else "another process"
        return (
            f"{self.path.parent} is being trained by {who} (lock {self.path}); wait for it to finish, "
            "or stop it and resume with --resume"
        )

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)  # an empty lock file is a free one
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
