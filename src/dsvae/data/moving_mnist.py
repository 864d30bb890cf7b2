"""``moving-mnist``: MNIST digits bouncing in a 64 x 64 canvas (Srivastava et al. 2015).

The recipe of Srivastava, Mansimov and Salakhutdinov, "Unsupervised Learning of Video
Representations using LSTMs" (ICML 2015): each digit starts at a uniform random place, moves
with a uniform random direction and a speed drawn uniformly from a fixed range, bounces off
the walls (the position is reflected and the velocity component flips), and digits are
overlaid by taking the pixel-wise maximum. Training sequences draw digits from MNIST's
training file, test sequences from its test file, so no digit image is in both splits.

Labels, per digit slot k: ``digit_k`` (static, the MNIST class) and ``direction_k``
(dynamic, the initial direction in 8 compass sectors of 45 degrees). The standard
``mnist_test_seq.npy`` file is read by :func:`moving_mnist_from_npy` (no labels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from dsvae.data.download import file_digest
from dsvae.data.folder import DataFolderWriter, DataInfo, Factor
from dsvae.data.mnist import DIGIT_SIZE, load_mnist
from dsvae.data.user import load_array_file, split_indices, write_sequences
from dsvae.errors import DSVAEError

RECIPE_VERSION = "1"
CANVAS = 64  # pixels per side, as in Srivastava et al.
COMPASS = ("E", "NE", "N", "NW", "W", "SW", "S", "SE")  # direction classes, counter-clockwise from east
CHUNK = 256  # sequences rendered at a time (bounds the index arrays' memory)


def factors(n_digits: int) -> list[Factor]:
    """Label columns: ``direction_k`` (dynamic) for each slot, then ``digit_k`` (static)."""
    return [Factor(f"direction_{k}", "dynamic", list(COMPASS)) for k in range(n_digits)] + [
        Factor(f"digit_{k}", "static", [str(c) for c in range(10)]) for k in range(n_digits)
    ]


def trajectories(
    n: int, n_digits: int, n_frames: int, speed: tuple[float, float], rng: np.random.Generator, span: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bouncing paths of the digits' top-left corners in [0, span].

    Returns:
        positions: (N, T, D, 2) int64 (y, x) pixel positions.
        direction: (N, D) int64 class of the initial direction (index into :data:`COMPASS`).
    """
    pos = rng.uniform(0, span, size=(n, n_digits, 2))  # (N, D, 2) continuous (y, x)
    angle = rng.uniform(0, 2 * np.pi, size=(n, n_digits))  # counter-clockwise from east, as seen on screen
    magnitude = rng.uniform(speed[0], speed[1], size=(n, n_digits))
    vel = magnitude[..., None] * np.stack([-np.sin(angle), np.cos(angle)], -1)  # (N, D, 2); image y points down
    positions = np.empty((n, n_frames, n_digits, 2), dtype=np.int64)
    for t in range(n_frames):
        positions[:, t] = np.rint(pos)
        pos += vel
        # bounce: reflect the overshoot back inside and flip that velocity component
        low, high = pos < 0, pos > span
        pos[low] = -pos[low]
        pos[high] = 2 * span - pos[high]
        vel[low | high] *= -1
    direction = np.rint(angle / (np.pi / 4)).astype(np.int64) % len(COMPASS)
    return positions, direction


def render(digits: np.ndarray, positions: np.ndarray, canvas: int = CANVAS) -> np.ndarray:
    """Overlay digits (N, D, 28, 28) at positions (N, T, D, 2) by maximum: (N, T, canvas, canvas) uint8."""
    n, n_frames, n_digits, _ = positions.shape
    out = np.zeros((n, n_frames, canvas, canvas), dtype=np.uint8)
    offsets = np.arange(DIGIT_SIZE)
    seq = np.arange(n)[:, None, None, None]  # (N, 1, 1, 1)
    frame = np.arange(n_frames)[None, :, None, None]  # (1, T, 1, 1)
    for k in range(n_digits):
        rows = positions[:, :, k, 0, None, None] + offsets[:, None]  # (N, T, 28, 1)
        cols = positions[:, :, k, 1, None, None] + offsets[None, :]  # (N, T, 1, 28)
        # one patch per (sequence, frame) for slot k, so the gather-max-scatter has no collisions
        out[seq, frame, rows, cols] = np.maximum(out[seq, frame, rows, cols], digits[:, k, None])
    return out


def build_moving_mnist(
    out: str | Path,
    mnist_dir: str | Path,
    n_train: int = 10000,
    n_test: int = 2000,
    n_frames: int = 8,
    n_digits: int = 2,
    speed: tuple[float, float] = (2.0, 5.0),
    seed: int = 0,
    verify: bool = True,
    progress: bool = False,
) -> Path:
    """Write a Moving MNIST data folder to ``out`` (atomically) from the MNIST idx files in ``mnist_dir``.

    Args:
        n_train, n_test: sequences per split; n_frames: T; n_digits: digits per canvas.
        speed: (low, high) pixels per frame; each digit's speed is uniform in this range.
        seed: the data are a function of the seed (and the options) alone; each split has its
            own stream, so changing ``n_test`` leaves the training set as it was.
        verify: require the official MD5s of the MNIST files.
    """
    span = CANVAS - DIGIT_SIZE
    if not 0 <= speed[0] <= speed[1] <= span:
        raise DSVAEError(f"speed must satisfy 0 <= low <= high <= {span} pixels per frame, got {speed}")
    for name, value in (("n_train", n_train), ("n_frames", n_frames), ("n_digits", n_digits)):
        if value < 1:
            raise DSVAEError(f"{name} must be >= 1, got {value}")
    if n_test < 0:
        raise DSVAEError(f"n_test must be >= 0, got {n_test}")
    counts = {"train": n_train, "test": n_test}
    splits = {split: n for split, n in counts.items() if n > 0}
    sources: dict[str, str] = {}
    with DataFolderWriter(out) as w:
        for index, (split, n) in enumerate(splits.items()):
            images, classes, found = load_mnist(mnist_dir, split, verify=verify)
            sources.update(found)
            rng = np.random.default_rng([seed, index])
            frames = w.frames(split, (n, n_frames, CANVAS, CANVAS, 1), np.uint8)
            labels = np.empty((n, 2 * n_digits), dtype=np.int64)
            for start in tqdm(range(0, n, CHUNK), desc=f"moving-mnist {split}", disable=not progress):
                m = min(CHUNK, n - start)
                picks = rng.integers(len(images), size=(m, n_digits))  # source images of this split only
                positions, direction = trajectories(m, n_digits, n_frames, speed, rng, span)
                frames[start : start + m, ..., 0] = render(images[picks], positions)
                labels[start : start + m] = np.concatenate([direction, classes[picks]], 1)
            w.labels(split, labels)
        info = DataInfo(
            name="moving-mnist", layout="image", frame_shape=[CANVAS, CANVAS, 1], n_frames=n_frames, dtype="uint8",
            splits=splits, factors=factors(n_digits), recipe_version=RECIPE_VERSION, sources=sources,
            extra={"seed": seed, "n_digits": n_digits, "speed": list(speed), "verified": verify,
                   "recipe": "Srivastava et al. 2015: uniform start, direction and speed; bounce; max overlay"},
        )  # fmt: skip
        return w.commit(info)


def moving_mnist_from_npy(
    out: str | Path, path: str | Path, test_fraction: float = 0.1, seed: int = 0, progress: bool = False
) -> Path:
    """Write a data folder from the standard ``mnist_test_seq.npy`` (uint8, (T, N, H, W), time first).

    The file has no labels, so the folder has no factors. Its sequences are split at random
    (``test_fraction``, ``seed``) into train and test.
    """
    path = Path(path)
    array = load_array_file(path)
    if array.ndim != 4 or array.dtype != np.uint8:
        raise DSVAEError(
            f"{path} must be a uint8 array (T, N, H, W), time first, like mnist_test_seq.npy; "
            f"got {array.dtype} with shape {array.shape}"
        )
    frames = np.moveaxis(array, 0, 1)[..., None]  # (N, T, H, W, 1), a view of the memory map
    return write_sequences(
        out, "moving-mnist", frames, splits=split_indices(len(frames), test_fraction, seed),
        sources={path.name: f"sha256:{file_digest(path)}"}, extra={"from": "mnist_test_seq.npy format"},
        where=str(path), progress=progress,
    )  # fmt: skip
