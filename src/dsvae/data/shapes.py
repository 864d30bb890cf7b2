"""``shapes``: a zero-download synthetic video set with known static and dynamic factors.

Each sequence is one coloured shape gliding over a black 32x32 canvas. Static factors
(content), constant within a sequence: the shape (circle, square, triangle, diamond) and its
colour (6). Dynamic factors (motion), drawn per sequence: the direction (right, left, down,
up) and the speed (slow, fast); ``motion`` is their product (8 classes), the analogue of
Sprites' motion label. Generated from a seed in about a second; it is the default of the quick
start and of the tests.

Each frame also shifts the shape sideways (across its direction) by a random ``wobble`` of up
to two pixels either way, drawn anew every frame. Without it every frame follows from a few
numbers per sequence (start, direction, speed), so the ELBO would be as content with those in
f and a clock in z_t as with the position in z_t (docs/results.md: the motion then drifts into
f); with it, where the shape is in frame t is news that only z_t can carry.

Why these sizes: a 12-pixel shape covers 14% of a 32x32 canvas (a 16-pixel one covered 6% of
64x64), and the colours are the six saturated corners of the RGB cube, so that a decoder that
draws the wrong shape or colour pays for it on many pixels and channels; this is what lets
the quick start learn the content, not only the motion, in a few CPU minutes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dsvae.data.folder import DataFolderWriter, DataInfo, Factor

RECIPE_VERSION = "3"  # 3: a sideways wobble per frame; 2: 32x32 canvas, 12-pixel shapes, saturated colours, speeds 1, 2
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
WOBBLE = 2  # the largest sideways shift of a frame, in pixels (0: straight paths, as recipe 2 drew them)


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


def render(labels: np.ndarray, corners: np.ndarray, out: np.ndarray) -> None:
    """Draw sequences into ``out`` (N, T, H, W, 3) uint8 from their labels (N, 5) and each frame's
    top-left corner (N, T, 2)."""
    masks = [shape_mask(s) for s in SHAPES]
    colours = np.array(list(COLOURS.values()), dtype=np.uint8)
    out[...] = 0
    for n, (_, _, _, shape, colour) in enumerate(labels):
        for t, (y, x) in enumerate(corners[n]):
            out[n, t, y : y + SIZE, x : x + SIZE][masks[shape]] = colours[colour]


def sample_labels(
    n: int, rng: np.random.Generator, n_frames: int, image_size: int, wobble: int = WOBBLE
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform factors, and each frame's top-left corner (N, T, 2): a straight path from a uniform start,
    shifted sideways by up to ``wobble`` pixels in each frame; the whole path stays inside the canvas."""
    direction = rng.integers(len(DIRECTIONS), size=n)
    speed = rng.integers(len(SPEEDS), size=n)
    shape = rng.integers(len(SHAPES), size=n)
    colour = rng.integers(len(COLOURS), size=n)
    motion = direction * len(SPEEDS) + speed
    labels = np.stack([motion, direction, speed, shape, colour], 1)
    steps = np.array(list(DIRECTIONS.values()))[direction] * np.array(list(SPEEDS.values()))[speed][:, None]
    travel = steps * (n_frames - 1)  # (N, 2) signed displacement
    side = (steps == 0).astype(np.int64)  # (N, 2): 1 on the axis across the direction
    lo = np.maximum(0, -travel) + wobble * side
    hi = image_size - SIZE - np.maximum(0, travel) - wobble * side
    if np.any(hi < lo):
        raise ValueError(f"{n_frames} frames of the fast motion do not fit in a {image_size}px canvas")
    starts = lo + (rng.random((n, 2)) * (hi - lo + 1)).astype(np.int64)
    t = np.arange(n_frames)[None, :, None]
    shifts = rng.integers(-wobble, wobble + 1, size=(n, n_frames, 1)) * side[:, None, :]  # (N, T, 2)
    return labels, starts[:, None, :] + steps[:, None, :] * t + shifts


def build_shapes(
    out: str | Path,
    n_train: int = 2000,
    n_test: int = 500,
    n_frames: int = 8,
    image_size: int = 32,
    seed: int = 0,
    wobble: int = WOBBLE,
) -> Path:
    """Write the ``shapes`` data folder to ``out`` (atomically) and return its path.

    ``wobble`` is the largest sideways shift of a frame in pixels (0 draws straight paths)."""
    if not isinstance(wobble, int) or wobble < 0:
        raise ValueError(f"the wobble must be a whole number of pixels >= 0, got {wobble!r}")
    rng = np.random.default_rng(seed)
    splits = {"train": n_train, "test": n_test}
    with DataFolderWriter(out) as w:
        for split, n in splits.items():
            labels, corners = sample_labels(n, rng, n_frames, image_size, wobble)
            frames = w.frames(split, (n, n_frames, image_size, image_size, 3), np.uint8)
            render(labels, corners, frames)
            w.labels(split, labels)
        info = DataInfo(
            name="shapes", layout="image", frame_shape=[image_size, image_size, 3], n_frames=n_frames,
            dtype="uint8", splits=splits, factors=factors(), recipe_version=RECIPE_VERSION,
            extra={"seed": seed, "wobble": wobble, "generator": "dsvae.data.shapes"},
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


def read_shape(frames: np.ndarray) -> np.ndarray:
    """The ``shape`` class of each sequence, by least-squares template matching.

    ``frames`` (N, T, C, H, W) in [0, 1]. Each frame's brightest channel w is fitted by a * mask,
    every shape's mask at every placement, with the best brightness a for each; the fit removes
    ``<w, mask>^2 / |mask|`` from the squared error, so a faint shape reads as well as a bright
    one, a shape inside a larger mask fits that mask worse than its own, and a mask inside a
    larger shape fits worse than the shape's own. The shape whose best placements remove the
    most error, summed over the frames, is read.
    """
    import torch  # numpy in and out; the sliding match is one conv2d

    w = torch.as_tensor(np.asarray(frames), dtype=torch.float32).amax(2)  # (N, T, H, W)
    n, t, h, wd = w.shape
    masks = torch.stack([torch.from_numpy(shape_mask(s)).float() for s in SHAPES])[:, None]  # (S, 1, k, k)
    match = torch.nn.functional.conv2d(w.reshape(n * t, 1, h, wd), masks, padding=SIZE // 2).clamp(min=0)
    fit = match**2 / masks.sum((1, 2, 3))[None, :, None, None]  # (N*T, S, H', W')
    return fit.flatten(2).amax(2).view(n, t, -1).sum(1).argmax(1).numpy()
