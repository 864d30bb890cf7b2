"""Source files: digests, and downloads into a cache folder that are verified and atomic.

A download goes to a temporary file beside its target and is renamed into place only after it
is complete (the byte count matches ``Content-Length``) and it passes the caller's check (a
pinned digest). Anything else (an HTTP error, a dropped connection, a digest mismatch, Ctrl-C)
deletes the temporary file, so the cache only ever holds verified files.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from dsvae.errors import DSVAEError

CHUNK = 1 << 20  # read and hash 1 MiB at a time
TIMEOUT = 60.0  # seconds without data before a download is abandoned


def digest_bytes(data: bytes, algorithm: str = "sha256") -> str:
    """Hex digest of ``data``."""
    return hashlib.new(algorithm, data).hexdigest()


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def manifest_digest(entries: Iterable[tuple[str, str]]) -> str:
    """One sha256 over ``(name, digest)`` pairs: records a folder of many files in one line."""
    h = hashlib.sha256()
    for name, digest in sorted(entries):
        h.update(f"{name}\t{digest}\n".encode())
    return h.hexdigest()


def check_digest(path: Path, expected: str, algorithm: str = "sha256", what: str = "") -> None:
    """Raise a :class:`DSVAEError` naming ``path`` if its digest is not ``expected``."""
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise DSVAEError(
            f"{what or path} has {algorithm} {actual[:16]}..., expected {expected[:16]}...: "
            "the file is corrupt or not the pinned version"
        )


def download(url: str, dest: str | Path, verify: Callable[[Path], None], timeout: float = TIMEOUT) -> Path:
    """Fetch ``url`` to ``dest`` atomically; ``verify(tmp_path)`` must raise if the bytes are wrong.

    Returns ``dest``. Raises :class:`DSVAEError` (and leaves no file behind) on any failure.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".download", dir=dest.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            _copy_url(url, fh, timeout)
        try:
            verify(tmp)
        except DSVAEError as exc:
            raise DSVAEError(f"download of {url} failed verification: {exc}; nothing was saved") from exc
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _copy_url(url: str, fh: BinaryIO, timeout: float = TIMEOUT) -> None:
    """Stream ``url`` into the open file ``fh``, checking the byte count against Content-Length."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            declared = resp.headers.get("Content-Length")
            shutil.copyfileobj(resp, fh, CHUNK)
            got = fh.tell()
    except urllib.error.HTTPError as exc:
        raise DSVAEError(f"could not download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DSVAEError(f"could not download {url}: {reason}") from exc
    # http.client returns short reads silently when a connection drops mid-body
    if declared is not None and got != int(declared):
        raise DSVAEError(f"download of {url} ended early ({got} of {declared} bytes); nothing was saved")
