"""Users' own data: an array file, or a folder with one folder of image frames per sequence.

Accepted arrays (``.npy``, read memory-mapped; or ``.npz``, key ``frames`` or its only array):

- (N, T, H, W, C) or (N, T, H, W) images: uint8 (0-255, stored as is) or float in [0, 1]
  (stored float32, so nothing is quantised);
- (N, T, V) float feature vectors (e.g. audio features), stored float32.

Sequences are split at random into train and test (``test_fraction``, ``seed``); each split
keeps the sequences' original order. Optional labels come from a file (see
:mod:`dsvae.data.labels_file`). Everything is checked before or while it is copied, and the
output folder appears only when all of it was good.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from dsvae.data.download import file_digest
from dsvae.data.folder import DataFolderWriter, DataInfo, Factor
from dsvae.data.frame_folders import FrameFolders
from dsvae.data.labels_file import read_labels
from dsvae.errors import DSVAEError

CHUNK_BYTES = 64 << 20  # copy about 64 MiB of frames at a time
MAX_CHANNELS = 4


def load_array_file(path: str | Path) -> np.ndarray:
    """A ``.npy`` file memory-mapped, or the ``frames`` (or only) array of a ``.npz`` file."""
    path = Path(path)
    if not path.is_file():
        raise DSVAEError(f"array file {path} does not exist")
    try:
        if path.suffix == ".npy":
            return np.load(path, mmap_mode="r", allow_pickle=False)
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                keys = list(archive.keys())
                if "frames" not in keys and len(keys) != 1:
                    raise DSVAEError(f"{path} holds arrays {keys}; name the frames array 'frames'")
                return archive["frames" if "frames" in keys else keys[0]]
    except (ValueError, OSError, EOFError) as exc:
        raise DSVAEError(f"{path} is not a readable numpy array file ({exc})") from exc
    raise DSVAEError(f"array file {path} must be .npy or .npz")


def as_sequences(array: np.ndarray, where: str) -> np.ndarray:
    """Check an array of sequences and bring images to (N, T, H, W, C); vectors stay (N, T, V)."""
    kind = array.dtype.kind
    if kind not in "uf" or (kind == "u" and array.dtype != np.uint8):
        raise DSVAEError(f"{where} has dtype {array.dtype}; use uint8 images or floats (images in [0, 1], or vectors)")
    if array.ndim == 4:
        array = array[..., None]  # (N, T, H, W) grayscale -> one channel
    if array.ndim == 3 and kind != "f":
        raise DSVAEError(f"{where} is (N, T, V) {array.dtype}: feature vectors must be floats")
    if array.ndim not in (3, 5):
        raise DSVAEError(
            f"{where} has shape {array.shape}; expected (N, T, H, W, C) or (N, T, H, W) images, or (N, T, V) vectors"
        )
    if min(array.shape) == 0:
        raise DSVAEError(f"{where} has shape {array.shape}: no data")
    if array.ndim == 5 and array.shape[-1] > MAX_CHANNELS:
        hint = " (it looks channels-first: use np.moveaxis(a, 2, -1))" if array.shape[2] <= MAX_CHANNELS else ""
        raise DSVAEError(f"{where} has {array.shape[-1]} channels in its last axis; frames are channels-last{hint}")
    return array


def split_indices(n: int, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """A seeded random split of ``n`` sequences: sorted indices of ``train`` and (if any) ``test``."""
    if not 0 <= test_fraction < 1:
        raise DSVAEError(f"test fraction must be in [0, 1), got {test_fraction}")
    n_test = max(1, round(n * test_fraction)) if test_fraction > 0 else 0
    if n_test >= n:
        raise DSVAEError(f"{n} sequences are too few for a test fraction of {test_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    splits = {"train": np.sort(perm[n_test:])}
    if n_test:
        splits["test"] = np.sort(perm[:n_test])
    return splits


def write_sequences(
    out: str | Path,
    name: str,
    frames: Any,
    splits: dict[str, np.ndarray],
    labels: np.ndarray | None = None,
    factors: Sequence[Factor] = (),
    sources: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    where: str = "the data",
    progress: bool = False,
) -> Path:
    """Write ``frames`` (an (N, T, H, W, C) or (N, T, V) array, or anything indexable like one) as a data folder.

    Frames are copied split by split in chunks; float images must lie in [0, 1] and every
    float must be finite, else the write is abandoned with an error naming the sequence.
    """
    layout = "image" if len(frames.shape) == 5 else "vector"
    dtype = np.uint8 if frames.dtype == np.uint8 else np.float32
    per_sequence = int(np.prod(frames.shape[1:])) * np.dtype(dtype).itemsize
    step = max(1, CHUNK_BYTES // per_sequence)
    labels = np.zeros((frames.shape[0], 0), np.int64) if labels is None else labels
    with DataFolderWriter(out) as w:
        for split, idx in splits.items():
            dest = w.frames(split, (len(idx), *frames.shape[1:]), dtype)
            for start in tqdm(range(0, len(idx), step), desc=f"{name} {split}", disable=not progress):
                block = np.asarray(frames[idx[start : start + step]])
                _check_values(block, idx[start : start + step], layout, where)
                dest[start : start + len(block)] = block
            w.labels(split, labels[idx])
        info = DataInfo(
            name=name, layout=layout, frame_shape=list(frames.shape[2:]), n_frames=frames.shape[1],
            dtype=np.dtype(dtype).name, splits={s: len(i) for s, i in splits.items()}, factors=list(factors),
            sources=sources or {}, extra=extra or {},
        )  # fmt: skip
        return w.commit(info)


def _check_values(block: np.ndarray, indices: np.ndarray, layout: str, where: str) -> None:
    if block.dtype == np.uint8:
        return
    axes = tuple(range(1, block.ndim))
    bad = ~np.isfinite(block).all(axis=axes)
    if layout == "image":
        bad |= (block < 0).any(axis=axes) | (block > 1).any(axis=axes)
    if bad.any():
        i = int(np.argmax(bad))
        rule = "be finite and in [0, 1] (float images)" if layout == "image" else "be finite"
        raise DSVAEError(
            f"{where}: sequence {indices[i]} has values from {block[i].min()} to {block[i].max()}; values must {rule}"
        )


def _labels(
    path: str | Path | None, n: int, names: Sequence[str] | None, dynamic: Sequence[str]
) -> tuple[np.ndarray | None, list[Factor], dict[str, str]]:
    if path is None:
        return None, [], {}
    labels, factors = read_labels(path, n, names, dynamic)
    return labels, factors, {Path(path).name: f"sha256:{file_digest(path)}"}


def build_from_array(
    out: str | Path,
    path: str | Path,
    labels: str | Path | None = None,
    factor_names: Sequence[str] | None = None,
    dynamic: Sequence[str] = (),
    test_fraction: float = 0.1,
    seed: int = 0,
    name: str = "array",
    progress: bool = False,
) -> Path:
    """Write a data folder from an array file (see the module docstring for the accepted forms).

    Args:
        labels: optional ``.npy`` / ``.csv`` label file, one row per sequence.
        factor_names: names of the label columns (a CSV's header is the default).
        dynamic: the factors that describe motion; the others are static.
        test_fraction, seed: the random train/test split.
    """
    path = Path(path)
    frames = as_sequences(load_array_file(path), str(path))
    label_array, factors, label_sources = _labels(labels, len(frames), factor_names, dynamic)
    return write_sequences(
        out, name, frames, split_indices(len(frames), test_fraction, seed), label_array, factors,
        sources={path.name: f"sha256:{file_digest(path)}", **label_sources},
        extra={"from_array": path.name, "test_fraction": test_fraction, "seed": seed}, where=str(path),
        progress=progress,
    )  # fmt: skip


def build_from_frames(
    out: str | Path,
    folder: str | Path,
    labels: str | Path | None = None,
    factor_names: Sequence[str] | None = None,
    dynamic: Sequence[str] = (),
    n_frames: int | None = None,
    size: int | None = None,
    channels: int | None = None,
    test_fraction: float = 0.1,
    seed: int = 0,
    name: str = "frames",
    progress: bool = False,
) -> Path:
    """Write a data folder from ``folder``: one sub-folder of image frames per sequence.

    Args:
        n_frames: keep the first T frames of each sequence (default: all; then every sequence
            must have as many frames).
        size: resize every frame to size x size (default: all frames must share one size).
        channels: 1 (grayscale) or 3 (RGB); default: as the first frame.
        labels, factor_names, dynamic, test_fraction, seed: as :func:`build_from_array`; label
            rows follow the sequence folders' sorted order.
    """
    frames = FrameFolders(folder, n_frames=n_frames, size=size, channels=channels)
    label_array, factors, label_sources = _labels(labels, len(frames), factor_names, dynamic)
    extra = {"from_frames": Path(folder).name, "sequences": frames.names, "test_fraction": test_fraction, "seed": seed}
    return write_sequences(
        out, name, frames, split_indices(len(frames), test_fraction, seed), label_array, factors,
        sources={"frames": f"sha256-manifest:{frames.digest}", **label_sources}, extra=extra, where=str(folder),
        progress=progress,
    )  # fmt: skip
