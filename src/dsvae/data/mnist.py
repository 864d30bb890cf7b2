"""MNIST digits (LeCun, Cortes, Burges) from the original idx files, gzipped or not, verified by MD5.

The official MD5s are of the decompressed files, so that is what is checked, whichever form
the files are in. Downloads come from a mirror of the original files (the original host often
refuses scripted downloads) and are verified the same way before they enter the cache.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from pathlib import Path

import numpy as np

from dsvae.data.download import digest_bytes, download
from dsvae.errors import DSVAEError

DEFAULT_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist"
FILES = {  # split -> (images file, labels file), without ".gz"
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MD5 = {  # of the decompressed files: the values published with MNIST
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
IDX_UBYTE = 0x08  # the idx type code of unsigned bytes
DIGIT_SIZE = 28


def read_idx_bytes(path: Path) -> bytes:
    """The decompressed bytes of an idx file, ``.gz`` or plain."""
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, zlib.error) as exc:
        raise DSVAEError(f"MNIST file {path} cannot be read ({exc})") from exc


def parse_idx(data: bytes, where: str) -> np.ndarray:
    """An idx array of unsigned bytes: magic 0x0000080D (D = number of dims), big-endian dims, data."""
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != IDX_UBYTE:
        raise DSVAEError(f"{where} is not an idx file of unsigned bytes (bad magic number)")
    ndim = data[3]
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    body = 4 + 4 * ndim
    if len(data) - body != int(np.prod(dims)):
        raise DSVAEError(f"{where} has {len(data) - body} bytes of data, its header says {dims}: truncated or corrupt")
    return np.frombuffer(data, dtype=np.uint8, offset=body).reshape(dims)


def locate(folder: Path, name: str) -> Path:
    """``name.gz`` or ``name`` in ``folder``."""
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    raise DSVAEError(f"MNIST file {name}(.gz) is missing from {folder}; pass --mnist DIR or let dsvae download it")


def load_mnist(folder: str | Path, split: str, verify: bool = True) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of the ``"train"`` or ``"test"`` split.

    Also returns the sources, file name -> "md5:<hex>" of the decompressed file. With
    ``verify``, each file must have the official MD5.
    """
    folder = Path(folder)
    arrays, sources = [], {}
    for name in FILES[split]:
        path = locate(folder, name)
        data = read_idx_bytes(path)
        md5 = digest_bytes(data, "md5")
        if verify and md5 != MD5[name]:
            raise DSVAEError(f"MNIST file {path} has MD5 {md5} when decompressed, the official one is {MD5[name]}")
        arrays.append(parse_idx(data, str(path)))
        sources[name] = f"md5:{md5}"
    images, labels = arrays
    if images.ndim != 3 or images.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE) or labels.shape != images.shape[:1]:
        raise DSVAEError(f"MNIST files of split {split!r} in {folder} have shapes {images.shape} and {labels.shape}")
    return images, labels.astype(np.int64), sources


def download_mnist(cache: str | Path, base_url: str = DEFAULT_BASE_URL) -> Path:
    """Make sure ``cache`` holds the four gzipped idx files with the official MD5s; returns ``cache``."""
    cache = Path(cache)

    def verify(path: Path, name: str) -> None:
        md5 = digest_bytes(read_idx_bytes(path), "md5")
        if md5 != MD5[name]:
            raise DSVAEError(f"{name} has MD5 {md5} when decompressed, the official one is {MD5[name]}")

    for name in (n for pair in FILES.values() for n in pair):
        dest = cache / f"{name}.gz"
        if dest.is_file():
            try:
                verify(dest, name)
                continue
            except DSVAEError:
                pass  # a stale or damaged cached copy: fetch it again
        download(f"{base_url.rstrip('/')}/{name}.gz", dest, functools.partial(verify, name=name))
    return cache
