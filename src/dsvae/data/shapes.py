"""``shapes``: a zero-download synthetic video set with known static and dynamic factors.

Each sequence is one coloured shape gliding over a black 32x32 canvas. Static factors
(content), constant within a sequence: the shape (circle, square, triangle, diamond) and its
colour (6). Dynamic factors (motion), drawn per sequence: the direction (right, left, down,
up) and the speed (slow, fast); ``motion`` is their product (8 classes), the analogue of
Sprites' motion label. Generated from a seed in about a second; it is the default of the quick
start and of the tests.

Why these sizes: a 12-pixel shape covers 14% of a 32x32 canvas (a 16-pixel one covered 6% of
64x64), and the colours are the six saturated corners of the RGB cube, so that a decoder that
draws the wrong shape or colour pays for it on many pixels and channels; this is what lets
the quick start learn the content, not only the motion, in a few CPU minutes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dsvae.data.folder import DataFolderWriter, DataInfo, Factor

RECIPE_VERSION = "2"  # 2: 32x32 canvas, 12-pixel shapes, saturated colours, speeds 1 and 2
SHAPES = ("circle", "square", "triangle", "diamond")
COLOURS = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "magenta": (255, 0, 255),
    "cyan": (0, 255, 255),
}
DIRECTIONS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}  # (dy, dx)
SPEEDS = {"slow": 1, "fast": 2}  # pixels per frame: 8 frames of the fast one cross 14 of the 20 free pixels
SIZE = 12  # shape's bounding box in pixels


def shape_mask(name: str, size: int = SIZE) -> np.ndarray:
    """A (size, size) boolean mask of the named shape."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    c = size / 2
    if name == "circle":
        return (yy - c) ** 2 + (xx - c) ** 2 <= c**2
    if name == "square":
        return np.ones((size, size), dtype=bool)
    if name == "triangle":  # apex up: width grows linearly with the row
        return np.abs(xx - c) <= yy / 2
    if name == "diamond":
        return np.abs(yy - c) + np.abs(xx - c) <= c
    raise ValueError(f"unknown shape {name!r}")


def factors() -> list[Factor]:
    motions = [f"{d}-{s}" for d in DIRECTIONS for s in SPEEDS]
    return [
        Factor("motion", "dynamic", motions),
        Factor("direction", "dynamic", list(DIRECTIONS)),
        Factor("speed", "dynamic", list(SPEEDS)),
        Factor("shape", "static", list(SHAPES)),
        Factor("colour", "static", list(COLOURS)),
    ]


def render(labels: np.ndarray, starts: np.ndarray, n_frames: int, image_size: int, out: np.ndarray) -> None:
    """Draw sequences into ``out`` (N, T, H, W, 3) uint8 from labels (N, 5) and start corners (N, 2)."""
    masks = [shape_mask(s) for s in SHAPES]
    colours = np.array(list(COLOURS.values()), dtype=np.uint8)
    steps = np.array(list(DIRECTIONS.values()))
    speeds = np.array(list(SPEEDS.values()))
    out[...] = 0
    for n, (_, direction, speed, shape, colour) in enumerate(labels):
        dy, dx = steps[direction] * speeds[speed]
        mask = masks[shape]
        for t in range(n_frames):
            y, x = starts[n, 0] + dy * t, starts[n, 1] + dx * t
            out[n, t, y : y + SIZE, x : x + SIZE][mask] = colours[colour]


def sample_labels(n: int, rng: np.random.Generator, n_frames: int, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform factors and start corners that keep the whole path inside the canvas."""
    direction = rng.integers(len(DIRECTIONS), size=n)
    speed = rng.integers(len(SPEEDS), size=n)
    shape = rng.integers(len(SHAPES), size=n)
    colour = rng.integers(len(COLOURS), size=n)
    motion = direction * len(SPEEDS) + speed
    labels = np.stack([motion, direction, speed, shape, colour], 1)
    steps = np.array(list(DIRECTIONS.values()))[direction] * np.array(list(SPEEDS.values()))[speed][:, None]
    travel = steps * (n_frames - 1)  # (N, 2) signed displacement
    lo = np.maximum(0, -travel)
    hi = image_size - SIZE - np.maximum(0, travel)
    if np.any(hi < lo):
        raise ValueError(f"{n_frames} frames of the fast motion do not fit in a {image_size}px canvas")
    starts = lo + (rng.random((n, 2)) * (hi - lo + 1)).astype(np.int64)
    return labels, starts


def build_shapes(
    out: str | Path,
    n_train: int = 2000,
    n_test: int = 500,
    n_frames: int = 8,
    image_size: int = 32,
    seed: int = 0,
) -> Path:
    """Write the ``shapes`` data folder to ``out`` (atomically) and return its path."""
    rng = np.random.default_rng(seed)
    splits = {"train": n_train, "test": n_test}
    with DataFolderWriter(out) as w:
        for split, n in splits.items():
            labels, starts = sample_labels(n, rng, n_frames, image_size)
            frames = w.frames(split, (n, n_frames, image_size, image_size, 3), np.uint8)
            render(labels, starts, n_frames, image_size, frames)
            w.labels(split, labels)
        info = DataInfo(
            name="shapes", layout="image", frame_shape=[image_size, image_size, 3], n_frames=n_frames,
            dtype="uint8", splits=splits, factors=factors(), recipe_version=RECIPE_VERSION,
            extra={"seed": seed, "generator": "dsvae.data.shapes"},
        )  # fmt: skip
        return w.commit(info)


def read_motion(frames: np.ndarray) -> np.ndarray:
    """The ``motion`` class of each sequence, read in closed form from the shape's centre of mass.

    ``frames`` (N, T, C, H, W) of intensities in [0, 1], real or decoded. The centroid's mean
    displacement per frame gives the direction (its larger axis and sign) and the speed (above or
    below 1.5 pixels a frame). A judge-free second reader of dynamics for the shapes set: it needs
    no training and cannot be fooled by a faint or blurred shape, only by one that is missing, split
    in two or changing shape midway (which moves the centre of mass).
    """
    w = np.asarray(frames, dtype=np.float64).sum(2)  # (N, T, H, W) mass per pixel
    rows, cols = np.arange(w.shape[-2]), np.arange(w.shape[-1])
    mass = np.maximum(w.sum((-1, -2)), 1e-9)  # (N, T)
    cy = (w.sum(-1) * rows).sum(-1) / mass  # (N, T)
    cx = (w.sum(-2) * cols).sum(-1) / mass
    steps = max(w.shape[1] - 1, 1)
    dy, dx = (cy[:, -1] - cy[:, 0]) / steps, (cx[:, -1] - cx[:, 0]) / steps
    # DIRECTIONS order: right, left, down, up
    direction = np.where(np.abs(dx) >= np.abs(dy), np.where(dx > 0, 0, 1), np.where(dy > 0, 2, 3))
    speed = (np.maximum(np.abs(dx), np.abs(dy)) > 1.5).astype(np.int64)  # SPEEDS: 1 and 2 pixels a frame
    return direction * len(SPEEDS) + speed


def read_colour(frames: np.ndarray) -> np.ndarray:
    """The ``colour`` class of each sequence: the RGB corner nearest to its brightness-weighted mean colour.

    ``frames`` (N, T, 3, H, W) in [0, 1]. Each pixel counts by its brightest channel, so the black
    background drops out; the mean colour is scaled so that its largest channel is 1 before the
    nearest of the six saturated colours is taken.
    """
    x = np.asarray(frames, dtype=np.float64)
    w = x.max(2, keepdims=True)  # (N, T, 1, H, W)
    rgb = (x * w).sum((1, 3, 4)) / np.maximum(w.sum((1, 3, 4)), 1e-9)  # (N, 3)
    rgb = rgb / np.maximum(rgb.max(1, keepdims=True), 1e-9)
    corners = np.array(list(COLOURS.values()), dtype=np.float64) / 255  # (6, 3)
    return ((rgb[:, None] - corners[None]) ** 2).sum(-1).argmin(1)
