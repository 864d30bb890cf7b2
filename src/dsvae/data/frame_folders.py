"""A folder of sequences, one sub-folder of image frames each, read like an (N, T, H, W, C) uint8 array.

Sequence folders and the frames inside them are taken in natural order (``frame2`` before
``frame10``; the same as name order for zero-padded names); hidden files are ignored. The
constructor checks every file's header (an image, of one size and one kind of colour) and
hashes the files, so that bad input is reported before anything is written; frames are
decoded only when indexed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from dsvae.data.download import file_digest, manifest_digest
from dsvae.errors import DSVAEError

GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")  # Pillow modes read as one channel


def natural_key(path: Path) -> list[object]:
    """Sort key that orders the digit runs of a name by value."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _visible(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=natural_key)


class FrameFolders:
    """Sequences of image frames on disk; ``self[indices]`` decodes them to (B, T, H, W, C) uint8."""

    def __init__(
        self, folder: str | Path, n_frames: int | None = None, size: int | None = None, channels: int | None = None
    ) -> None:
        root = Path(folder)
        if not root.is_dir():
            raise DSVAEError(f"frames folder {root} does not exist")
        if channels not in (None, 1, 3):
            raise DSVAEError(f"channels must be 1 or 3, got {channels}")
        if size is not None and size < 1:
            raise DSVAEError(f"size must be >= 1, got {size}")
        dirs = self._sequence_dirs(root)
        self.names = [p.name for p in dirs]
        self.sequences = [self._frame_files(p, n_frames) for p in dirs]
        first = self.sequences[0]
        for files in self.sequences:
            if len(files) != len(first):
                raise DSVAEError(
                    f"{files[0].parent} has {len(files)} frames but {first[0].parent} has {len(first)}: "
                    "sequences must be of equal length (or pass a number of frames to keep)"
                )
        self.size = size
        self.image_size, self.channels, self.digest = self._check_headers(size, channels)
        H, W = (size, size) if size else self.image_size[::-1]
        self.shape = (len(self.sequences), len(self.sequences[0]), H, W, self.channels)
        self.dtype = np.dtype(np.uint8)

    @staticmethod
    def _sequence_dirs(root: Path) -> list[Path]:
        entries = _visible(root)
        for p in entries:
            if not p.is_dir():
                raise DSVAEError(f"{p} is not a folder: {root} must hold one folder of frames per sequence")
        if not entries:
            raise DSVAEError(f"frames folder {root} has no sequence folders")
        return entries

    @staticmethod
    def _frame_files(folder: Path, n_frames: int | None) -> list[Path]:
        files = _visible(folder)
        for p in files:
            if not p.is_file():
                raise DSVAEError(f"{p} is not a file: a sequence folder holds only image frames")
        if n_frames is not None:
            if len(files) < n_frames:
                raise DSVAEError(f"{folder} has {len(files)} frames, fewer than the {n_frames} asked for")
            files = files[:n_frames]
        if not files:
            raise DSVAEError(f"sequence folder {folder} has no frames")
        return files

    def _check_headers(self, size: int | None, channels: int | None) -> tuple[tuple[int, int], int, str]:
        """Open every frame's header: the common size, the channel count, and a digest of all files."""
        first_size: tuple[int, int] | None = None
        convert = channels is not None  # asked for: every frame is converted, whatever its mode
        digests = []
        for files in self.sequences:
            for path in files:
                try:
                    with Image.open(path) as image:
                        image_size, mode = image.size, image.mode
                except (UnidentifiedImageError, OSError) as exc:
                    raise DSVAEError(f"{path} is not a readable image ({exc.__class__.__name__})") from exc
                first_size = first_size or image_size
                if size is None and image_size != first_size:
                    raise DSVAEError(
                        f"{path} is {image_size[0]}x{image_size[1]} but earlier frames are "
                        f"{first_size[0]}x{first_size[1]}: frames must share one size (or pass a size to resize to)"
                    )
                natural = 1 if mode in GRAY_MODES else 3
                channels = channels or natural  # the first frame decides unless asked
                if natural != channels and not convert:
                    raise DSVAEError(
                        f"{path} has {natural} channel(s) ({mode}) but earlier frames have {channels}: "
                        "pass a number of channels to convert them all"
                    )
                digests.append((f"{path.parent.name}/{path.name}", file_digest(path)))
        assert first_size is not None and channels is not None
        return first_size, channels, manifest_digest(digests)

    def __len__(self) -> int:
        return len(self.sequences)

    def _decode(self, path: Path) -> np.ndarray:
        try:
            with Image.open(path) as opened:
                image = opened.convert("L" if self.channels == 1 else "RGB")  # RGBA: alpha is dropped
                if self.size:
                    image = image.resize((self.size, self.size), Image.Resampling.LANCZOS)
                pixels = np.asarray(image)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise DSVAEError(f"{path} cannot be decoded ({exc})") from exc
        return pixels.reshape(self.shape[2:])

    def __getitem__(self, indices: np.ndarray) -> np.ndarray:
        """Frames of the given sequences: (B, T, H, W, C) uint8."""
        out = np.empty((len(indices), *self.shape[1:]), dtype=np.uint8)
        for b, i in enumerate(indices):
            for t, path in enumerate(self.sequences[i]):
                out[b, t] = self._decode(path)
        return out
