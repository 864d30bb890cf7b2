"""The data folder: what ``dsvae data`` writes and every dataset reads.

Layout (one folder per data set)::

    DIR/meta.json              what the arrays hold (see :class:`DataInfo`)
    DIR/<split>/frames.npy     (N, T, H, W, C) uint8 images, or (N, T, V) float32 vectors
    DIR/<split>/labels.npy     (N, n_factors) int64, columns in the order of meta.json's factors

Frames stay uint8 on disk (Sprites: 1.07 GiB) and are read memory-mapped, so opening a set
costs no RAM; :class:`SequenceDataset` converts each item to float32 in [0, 1], laid out
(T, C, H, W) as the model expects (or (T, V) for vector frames).

Writing is atomic at the folder level (:class:`DataFolderWriter`): everything is built in a
temporary sibling folder and renamed into place at the end, so a crash or Ctrl-C midway
leaves any previous folder untouched and no half-written one behind.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from dsvae.errors import DSVAEError
from dsvae.outputs import StagedFolder, check_output_folder, check_writable

FORMAT = "dsvae-data"
FORMAT_VERSION = 1
META_NAME = "meta.json"
LAYOUTS = ("image", "vector")
# what each layout stores: images as uint8 (scaled by 1/255) or float32 in [0, 1]; vectors as float32
DTYPES = {"image": ("uint8", "float32"), "vector": ("float32",)}


def _is_count(value: object, least: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


@dataclass
class Factor:
    """A labelled factor of variation."""

    name: str  # e.g. "motion", "body"
    kind: str  # "static" (one value per sequence, content) or "dynamic" (motion)
    classes: list[str]  # class names; labels are indices into this list

    @property
    def n_classes(self) -> int:
        return len(self.classes)


@dataclass
class DataInfo:
    """The contents of ``meta.json``."""

    name: str  # data set name, e.g. "sprites"
    layout: str  # "image" or "vector"
    frame_shape: list[int]  # one stored frame: [H, W, C] (image) or [V] (vector)
    n_frames: int  # T
    dtype: str  # "uint8" (images, scaled by 1/255) or "float32" (used as stored)
    splits: dict[str, int]  # split name -> number of sequences
    factors: list[Factor] = field(default_factory=list)  # label columns, in order
    recipe_version: str = "1"  # bumped when a builder's output changes
    sources: dict[str, str] = field(default_factory=dict)  # source file -> sha256 / md5
    extra: dict[str, Any] = field(default_factory=dict)  # builder options and notes

    @property
    def model_frame_shape(self) -> tuple[int, ...]:
        """A frame as the model sees it: (C, H, W) or (V,)."""
        if self.layout == "image":
            H, W, C = self.frame_shape
            return (C, H, W)
        return tuple(self.frame_shape)

    def factor_index(self, name: str) -> int:
        for i, f in enumerate(self.factors):
            if f.name == name:
                return i
        raise DSVAEError(f"data set {self.name!r} has no factor {name!r}; it has {[f.name for f in self.factors]}")

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> DataInfo:
        if data.get("format") != FORMAT:
            raise DSVAEError(f"{where} is not a dsvae data folder's meta.json (no format {FORMAT!r})")
        try:
            factors = [Factor(**f) for f in data.get("factors", [])]
            info = cls(
                name=data["name"], layout=data["layout"], frame_shape=list(data["frame_shape"]),
                n_frames=int(data["n_frames"]), dtype=data["dtype"], splits=dict(data["splits"]),
                factors=factors, recipe_version=str(data.get("recipe_version", "1")),
                sources=dict(data.get("sources", {})), extra=dict(data.get("extra", {})),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise DSVAEError(f"{where} is missing or has a bad field ({exc}); rebuild the folder") from exc
        if info.layout not in LAYOUTS:
            raise DSVAEError(f"{where}: layout must be one of {LAYOUTS}, got {info.layout!r}")
        info.check(where)
        return info

    def check(self, where: str) -> None:
        """The fields a reader relies on: types, one dtype per layout, sane shapes and class lists."""
        want = DTYPES[self.layout]
        if self.dtype not in want:
            raise DSVAEError(f"{where}: dtype must be {' or '.join(want)} for {self.layout} frames, got {self.dtype!r}")
        dims = 3 if self.layout == "image" else 1
        if len(self.frame_shape) != dims or not all(_is_count(d) for d in self.frame_shape):
            raise DSVAEError(f"{where}: frame_shape must be {dims} positive integers, got {self.frame_shape}")
        if not _is_count(self.n_frames) or not all(_is_count(n, 0) for n in self.splits.values()):
            raise DSVAEError(f"{where}: n_frames and split sizes must be integers, got {self.n_frames}, {self.splits}")
        for f in self.factors:
            if f.kind not in ("static", "dynamic") or not isinstance(f.classes, list) or not f.classes:
                raise DSVAEError(f"{where}: factor {f.name!r} needs kind static/dynamic and a non-empty class list")


def read_info(root: str | Path) -> DataInfo:
    """Parse ``root/meta.json`` with clear errors for a missing or corrupt folder."""
    root = Path(root)
    if not root.is_dir():
        raise DSVAEError(f"data folder {root} does not exist; build one with `dsvae data NAME --out {root}`")
    meta = root / META_NAME
    if not meta.is_file():
        raise DSVAEError(f"{root} has no {META_NAME}: it is not a data folder written by `dsvae data`")
    try:
        data = json.loads(meta.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DSVAEError(f"{meta} is not valid JSON ({exc}); rebuild the folder") from exc
    except RecursionError:
        raise DSVAEError(f"{meta} is nested too deeply to be a meta.json; rebuild the folder") from None
    if not isinstance(data, dict):
        raise DSVAEError(f"{meta} must be a JSON object, got {type(data).__name__}; rebuild the folder")
    return DataInfo.from_json(data, str(meta))


class SequenceDataset(Dataset):
    """One split of a data folder, memory-mapped.

    Items are dicts: ``x`` float32 (T, C, H, W) in [0, 1] (or (T, V)), ``labels`` int64
    (n_factors,) in the order of ``info.factors``, and ``index``.
    """

    def __init__(self, root: str | Path, split: str = "train") -> None:
        self.root = Path(root)
        self.info = read_info(self.root)
        if split not in self.info.splits:
            raise DSVAEError(f"data folder {self.root} has no split {split!r}; it has {sorted(self.info.splits)}")
        self.split = split
        self._frames: np.ndarray | None = None  # opened lazily: each DataLoader worker maps its own
        labels_path = self.root / split / "labels.npy"
        frames_path = self.root / split / "frames.npy"
        for p in (frames_path, labels_path):
            if not p.is_file():
                raise DSVAEError(f"data folder {self.root} is incomplete: {p} is missing; rebuild it")
        self.labels = _load_npy(labels_path, mmap=False)
        n = self.info.splits[split]
        if self.labels.shape != (n, len(self.info.factors)):
            raise DSVAEError(
                f"{labels_path} has shape {self.labels.shape}, meta.json says ({n}, {len(self.info.factors)})"
            )
        expect = (n, self.info.n_frames, *self.info.frame_shape)
        shape = self.frames.shape
        if tuple(shape) != expect:
            raise DSVAEError(f"{frames_path} has shape {tuple(shape)}, meta.json says {expect}; rebuild the folder")
        if self.frames.dtype != np.dtype(self.info.dtype):
            # read as another dtype, the frames would be scaled wrongly (floats 0-255) or not at all (int16)
            raise DSVAEError(
                f"{frames_path} holds {self.frames.dtype}, meta.json says {self.info.dtype}; rebuild the folder"
            )
        self._check_labels(labels_path)

    def _check_labels(self, path: Path) -> None:
        """Every label an index into its factor's class list (the judge and the scores index with them)."""
        if self.labels.size == 0:
            return
        if not np.issubdtype(self.labels.dtype, np.integer):
            raise DSVAEError(f"{path} must hold integers, got {self.labels.dtype}; rebuild the folder")
        for k, factor in enumerate(self.info.factors):
            lo, hi = int(self.labels[:, k].min()), int(self.labels[:, k].max())
            if lo < 0 or hi >= factor.n_classes:
                raise DSVAEError(
                    f"{path}: labels of factor {factor.name!r} run from {lo} to {hi}, but it has "
                    f"{factor.n_classes} classes (0 to {factor.n_classes - 1}); rebuild the folder"
                )

    @property
    def frames(self) -> np.ndarray:
        """The split's frames, memory-mapped: (N, T, H, W, C) or (N, T, V)."""
        if self._frames is None:
            self._frames = _load_npy(self.root / self.split / "frames.npy", mmap=True)
        return self._frames

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_frames"] = None  # workers re-open the map instead of pickling it
        return state

    def __len__(self) -> int:
        return self.info.splits[self.split]

    def to_float(self, frames: np.ndarray, channels_last: bool = True) -> torch.Tensor:
        """Stored frames (..., T, H, W, C) uint8 or (..., T, V) -> float32 (..., T, C, H, W) / (..., T, V).

        ``channels_last`` keeps the stored H, W, C order in memory (what NHWC convolutions want,
        at no extra cost); otherwise the result is contiguous.
        """
        image = self.info.layout == "image"
        if image and not channels_last:
            frames = np.moveaxis(frames, -1, -3)  # (..., T, C, H, W) view; the cast below lays it out
        x = frames.astype(np.float32, order="C")  # one copy, writable
        if frames.dtype == np.uint8:
            # scaled in numpy, single-threaded: torch's thread pool would contend with the model's
            # (several times slower on a busy CPU); the float32 product is the same as torch's
            x *= np.float32(1.0 / 255.0)
        t = torch.from_numpy(x)
        if image and channels_last:
            t = t.movedim(-1, -3)  # (..., T, C, H, W), channels-last in memory
        return t

    def __getitem__(self, i: int | Sequence[int] | np.ndarray) -> dict[str, Any]:
        """Item ``i`` (``x`` contiguous); or, given a list of indices, the batch :meth:`get_batch` returns.

        The second form is the fast way to load: ``DataLoader(ds, batch_size=None,
        sampler=BatchSampler(RandomSampler(ds), B, drop_last=True))`` reads each batch in one go
        and skips the per-item collation.
        """
        if np.ndim(i) > 0:
            return self.get_batch(np.asarray(i))
        j = int(np.asarray(i))
        x = self.to_float(self.frames[j], channels_last=False)
        return {"x": x, "labels": torch.from_numpy(self.labels[j]), "index": j}

    def __getitems__(self, indices: list[int]) -> list[dict[str, Any]]:
        """Items of a DataLoader batch from one read of the memory map (``DataLoader`` calls this itself).

        Items are contiguous, so the default collation is a plain copy: stacking channels-last
        items makes torch run a strided, multi-threaded copy that is slow on a busy CPU.
        """
        batch = self.get_batch(indices, channels_last=False)
        return [
            {"x": x, "labels": labels, "index": int(i)}
            for x, labels, i in zip(batch["x"], batch["labels"], indices, strict=True)
        ]

    def get_batch(self, indices: list[int] | np.ndarray, channels_last: bool = True) -> dict[str, torch.Tensor]:
        """A whole batch in one read, in the order given: x (B, T, ...), labels (B, n_factors), index (B,).

        ``x`` of images is channels-last in memory unless ``channels_last=False`` (see :meth:`to_float`).
        """
        idx = np.asarray(indices, dtype=np.int64)
        return {
            "x": self.to_float(self.frames[idx], channels_last),
            "labels": torch.from_numpy(self.labels[idx]),
            "index": torch.from_numpy(idx),
        }


def open_dataset(root: str | Path, split: str = "train", labelled: bool = False) -> SequenceDataset:
    """Open one split of a data folder; ``labelled``: refuse a folder without labelled factors
    (judges and the evaluation need them) with a clear error before any frame is read."""
    if labelled and not read_info(root).factors:
        raise DSVAEError(f"data folder {root} has no labelled factors (meta.json lists none); a judge needs labels")
    return SequenceDataset(root, split)


def _load_npy(path: Path, mmap: bool) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DSVAEError(f"{path} is corrupt or not a .npy array ({exc}); rebuild the folder") from exc


class DataFolderWriter:
    """Build a data folder in a temporary sibling and rename it into place on :meth:`commit`.

    Use as a context manager; leaving the block without :meth:`commit` (an error, Ctrl-C)
    deletes the temporary folder and leaves ``out`` as it was::

        with DataFolderWriter(out) as w:
            frames = w.frames("train", (N, T, 64, 64, 3), np.uint8)  # writable memory map
            ...
            w.labels("train", labels)
            w.commit(info)
    """

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        # the library replaces an earlier data folder; only the CLI asks for --overwrite first
        check_output_folder(self.out, META_NAME, overwrite=True, what="data folder", command="data")
        self.tmp: Path | None = None
        self._staged: StagedFolder | None = None
        self._maps: list[np.memmap] = []

    def __enter__(self) -> DataFolderWriter:
        check_writable(self.out, "data folder")
        self._staged = StagedFolder(self.out)  # sweeps builds of this folder killed midway (one left 1.1 GB)
        self.tmp = self._staged.path
        return self

    def __exit__(self, *exc: object) -> None:
        self._maps.clear()
        if self._staged is not None:
            self._staged.discard()

    def frames(self, split: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A writable, memory-mapped ``frames.npy`` for ``split``."""
        assert self.tmp is not None, "use DataFolderWriter as a context manager"
        (self.tmp / split).mkdir(exist_ok=True)
        arr = np.lib.format.open_memmap(self.tmp / split / "frames.npy", mode="w+", dtype=dtype, shape=shape)
        self._maps.append(arr)
        return arr

    def labels(self, split: str, labels: np.ndarray) -> None:
        assert self.tmp is not None, "use DataFolderWriter as a context manager"
        (self.tmp / split).mkdir(exist_ok=True)
        np.save(self.tmp / split / "labels.npy", np.asarray(labels, dtype=np.int64))

    def commit(self, info: DataInfo) -> Path:
        """Flush, write meta.json, and move the folder into place (replacing an older build)."""
        assert self.tmp is not None, "use DataFolderWriter as a context manager"
        for arr in self._maps:
            arr.flush()
        self._maps.clear()
        (self.tmp / META_NAME).write_text(json.dumps(info.to_json(), indent=2) + "\n")
        assert self._staged is not None
        self._staged.commit()
        self.tmp = None
        return self.out
