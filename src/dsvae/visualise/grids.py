"""Sequences as pictures: frames to RGB, tiles of frames, PNG grids and animated GIFs.

Shape legend: R rows (sequences), K columns of a matrix, T frames, C, H, W image
channels/height/width, V features of a vector frame (e.g. log-mel bins).

Image frames (C, H, W) in [0, 1] become RGB tiles as they are. Vector frames (V,) become
spectrogram columns: a sequence (T, V) is drawn as a V-high, T-wide heat map with the first
feature at the bottom, so a row of a grid reads like a spectrogram over time. Vectors are
scaled by the range of the whole picture (unbounded log-mel values have no fixed range), so
originals and reconstructions drawn in one grid share one scale.

Every file is written atomically (:func:`dsvae.io.atomic_write`).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from dsvae.errors import DSVAEError
from dsvae.io import atomic_write
from dsvae.visualise.labels import Axis, Labels, draw_labels

PAD = 2  # pixels between tiles
PAD_VALUE = 255  # white gutters, so black sprites' canvases stay visible as tiles
STRIP_ROW_GAP, STRIP_COL_GAP = 2 * PAD, 3 * PAD  # between the cells of a strip matrix: wider than between frames
VECTOR_CELL_WIDTH = 6  # pixels per frame of a spectrogram: 8 frames make a 48 px strip
VECTOR_MIN_HEIGHT = 64  # spectrograms are stretched to at least this many pixels high

# A dark-to-bright heat map (anchors at 0, 1/3, 2/3, 1), chosen for contrast on screen and in print.
_HEAT = np.array([[0, 0, 4], [120, 28, 109], [237, 105, 37], [252, 255, 164]], dtype=np.float64)


def heat_colours(v: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (any shape) -> uint8 RGB (..., 3) on the heat map."""
    v = np.clip(np.nan_to_num(v, nan=0.0), 0.0, 1.0) * (len(_HEAT) - 1)
    lo = np.minimum(np.floor(v).astype(np.int64), len(_HEAT) - 2)
    w = (v - lo)[..., None]
    return np.round(_HEAT[lo] * (1 - w) + _HEAT[lo + 1] * w).astype(np.uint8)


def is_vector(x: Tensor, lead: int) -> bool:
    """True when ``x`` has ``lead`` leading dims plus (T, V), False for (T, C, H, W); else an error."""
    if x.dim() == lead + 2:
        return True
    if x.dim() == lead + 4:
        return False
    raise DSVAEError(
        f"expected frames with {lead} leading dims then (T, C, H, W) or (T, V), got shape {tuple(x.shape)}"
    )


def value_range(x: Tensor) -> tuple[float, float]:
    """The (min, max) that scales vector frames into the heat map; (0, 1) for a constant picture."""
    finite = x[torch.isfinite(x)]
    if finite.numel() == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def sequences_to_rgb(x: Tensor, vector: bool, vrange: tuple[float, float] | None = None) -> np.ndarray:
    """Sequences (..., T, C, H, W) or (..., T, V) -> frame tiles (..., T, h, w, 3) uint8.

    Image channels: 1 (grey) or 3 (RGB); values clamped to [0, 1]. Vector frames become
    columns of a heat map ``VECTOR_CELL_WIDTH`` wide (scaled by ``vrange``, default: x's range).
    """
    x = x.detach().float().cpu()
    if vector:
        lo, hi = vrange or value_range(x)
        v = ((x - lo) / (hi - lo)).numpy()  # (..., T, V)
        V = v.shape[-1]
        stretch = max(1, -(-VECTOR_MIN_HEIGHT // V))  # ceil: rows of pixels per feature
        col = np.flip(v, -1).repeat(stretch, -1)  # (..., T, h): feature 0 at the bottom
        col = np.repeat(col[..., :, None], VECTOR_CELL_WIDTH, -1)  # (..., T, h, w)
        return heat_colours(col)  # (..., T, h, w, 3)
    C = x.shape[-3]
    if C not in (1, 3):
        raise DSVAEError(f"can draw frames with 1 or 3 channels, got {C}")
    img = (x.clamp(0, 1) * 255).round().to(torch.uint8).movedim(-3, -1).numpy()  # (..., T, H, W, C)
    return np.repeat(img, 3, -1) if C == 1 else img


def tile(cells: np.ndarray, pad_rows: int = PAD, pad_cols: int = PAD, pad_value: int = PAD_VALUE) -> np.ndarray:
    """A matrix of tiles (R, K, h, w, 3) -> one picture (R*h + gutters, K*w + gutters, 3) uint8."""
    R, K, h, w, _ = cells.shape
    out = np.full((R * h + (R - 1) * pad_rows, K * w + (K - 1) * pad_cols, 3), pad_value, dtype=np.uint8)
    for r in range(R):
        for k in range(K):
            y, x = r * (h + pad_rows), k * (w + pad_cols)
            out[y : y + h, x : x + w] = cells[r, k]
    return out


def sequence_grid(x: Tensor, vrange: tuple[float, float] | None = None) -> np.ndarray:
    """Sequences (R, T, C, H, W) or (R, T, V) -> a picture with one sequence per row, (H', W', 3) uint8."""
    vector = is_vector(x, lead=1)
    cells = sequences_to_rgb(x, vector, vrange)  # (R, T, h, w, 3)
    return tile(cells, pad_cols=0 if vector else PAD)  # a spectrogram reads best without gutters


def strip_matrix(x: Tensor, vrange: tuple[float, float] | None = None) -> np.ndarray:
    """A matrix of sequences (R, K, T, ...) -> one picture; each cell is its T frames side by side."""
    vector = is_vector(x, lead=2)
    cells = sequences_to_rgb(x, vector, vrange)  # (R, K, T, h, w, 3)
    R, K, _, h = cells.shape[:4]
    gap = 0 if vector else 1  # a thin gutter between a cell's frames, a wide one between cells
    strips = np.stack([tile(cells[r, k][None], 0, gap) for r in range(R) for k in range(K)])  # (R*K, h, w', 3)
    return tile(strips.reshape(R, K, h, strips.shape[2], 3), pad_rows=STRIP_ROW_GAP, pad_cols=STRIP_COL_GAP)


def matrix_frames(x: Tensor, vrange: tuple[float, float] | None = None) -> list[np.ndarray]:
    """A matrix of sequences (R, K, T, ...) -> T pictures, the matrix at each time step (for a GIF)."""
    vector = is_vector(x, lead=2)
    cells = sequences_to_rgb(x, vector, vrange)  # (R, K, T, h, w, 3)
    return [tile(cells[:, :, t]) for t in range(cells.shape[2])]


def frame_size(x: Tensor, lead: int) -> tuple[int, int, bool]:
    """(h, w) in pixels of one drawn frame of x (``lead`` leading dims), and whether frames are vectors."""
    vector = is_vector(x, lead)
    one = sequences_to_rgb(x.reshape(-1, *x.shape[lead:])[:1, :1], vector)  # (1, 1, h, w, 3)
    return one.shape[2], one.shape[3], vector


def labelled_sequence_grid(x: Tensor, labels: Labels, vrange: tuple[float, float] | None = None) -> np.ndarray:
    """:func:`sequence_grid` of (R, T, ...) with ``labels`` around it (columns: the T frames)."""
    (h, w, vector), (R, T) = frame_size(x, 1), x.shape[:2]
    rows, cols = Axis(R, h, PAD), Axis(T, w, 0 if vector else PAD)
    return draw_labels(sequence_grid(x, vrange), labels, rows, cols)


def labelled_strip_matrix(x: Tensor, labels: Labels, vrange: tuple[float, float] | None = None) -> np.ndarray:
    """:func:`strip_matrix` of (R, K, T, ...) with ``labels`` around it (columns: the K cells)."""
    (h, w, vector), (R, K, T) = frame_size(x, 2), x.shape[:3]
    strip = T * w + (T - 1) * (0 if vector else 1)
    return draw_labels(strip_matrix(x, vrange), labels, Axis(R, h, STRIP_ROW_GAP), Axis(K, strip, STRIP_COL_GAP))


def labelled_matrix_frames(x: Tensor, labels: Labels, vrange: tuple[float, float] | None = None) -> list[np.ndarray]:
    """:func:`matrix_frames` of (R, K, T, ...), each picture with ``labels`` around it."""
    (h, w, _), (R, K) = frame_size(x, 2), x.shape[:2]
    rows, cols = Axis(R, h, PAD), Axis(K, w, PAD)
    return [draw_labels(p, labels, rows, cols) for p in matrix_frames(x, vrange)]


def png_bytes(picture: np.ndarray) -> bytes:
    """An (H, W, 3) uint8 picture as PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(picture, "RGB").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def gif_bytes(pictures: list[np.ndarray], frame_ms: int = 200) -> bytes:
    """Equal-sized (H, W, 3) uint8 pictures as a looping animated GIF."""
    if not pictures:
        raise DSVAEError("an animation needs at least one picture")
    images = [Image.fromarray(p, "RGB") for p in pictures]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    return buf.getvalue()


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    path = Path(path)
    atomic_write(path, lambda p: p.write_bytes(data))
    return path


def save_picture(picture: np.ndarray, path: str | Path) -> Path:
    """An (H, W, 3) uint8 picture as a PNG file (atomic)."""
    return write_bytes(path, png_bytes(picture))


def save_sequence_grid(x: Tensor, path: str | Path, vrange: tuple[float, float] | None = None) -> None:
    """Save sequences as a PNG grid: rows = sequences, columns = frames (atomic write).

    Args:
        x: (R, T, C, H, W) in [0, 1] with C in {1, 3}, or (R, T, V) vector frames (drawn as
            spectrograms scaled by ``vrange``, by default the range of ``x``).
        path: the PNG file to write; its folder is created.
    """
    save_picture(sequence_grid(x, vrange), path)


def save_matrix_gif(
    x: Tensor, path: str | Path, frame_ms: int = 200, vrange: tuple[float, float] | None = None
) -> Path:
    """A matrix of sequences (R, K, T, ...) as an animated GIF, one GIF frame per time step (atomic)."""
    return write_bytes(path, gif_bytes(matrix_frames(x, vrange), frame_ms))
