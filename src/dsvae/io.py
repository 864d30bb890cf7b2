"""Atomic file writes and safe reads: a crash or a kill mid-write never leaves a half file.

Every file is written to a temporary name in the same folder, flushed to disk, then renamed
over the target (``os.replace`` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from dsvae.errors import DSVAEError


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _umask_mode()


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` over ``path``.

    On any failure (including KeyboardInterrupt or a full disk) the temporary file is removed
    and ``path`` keeps its previous content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, _FILE_MODE)  # mkstemp makes 0600; give the usual 0644 less the umask
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException as exc:
        tmp_path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise DSVAEError(f"could not write {path}: {exc.strerror or exc}") from exc
        raise


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False) + "\n"
    atomic_write(path, lambda p: p.write_text(text))


def read_json(path: str | Path, what: str = "file") -> Any:
    """Read a JSON file, turning a missing or corrupt file into a clear :class:`DSVAEError`."""
    path = Path(path)
    if not path.is_file():
        raise DSVAEError(f"{what} {path} does not exist")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DSVAEError(f"{what} {path} is not valid JSON ({exc}); it may be corrupt") from exc
    except RecursionError:
        raise DSVAEError(f"{what} {path} is nested too deeply to be a dsvae file; it may be corrupt") from None


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Save a flat dict of tensors as safetensors, atomically."""
    flat = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write(path, lambda p: save_file(flat, str(p), metadata=metadata))


def load_tensors(path: str | Path, what: str = "weights file") -> dict[str, torch.Tensor]:
    """Load a safetensors file (never unpickles), with a clear error if missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise DSVAEError(f"{what} {path} does not exist")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise DSVAEError(f"{what} {path} is corrupt or not a safetensors file ({exc})") from exc
