"""PNG grids and GIFs: layout, values, vector frames as spectrograms, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dsvae.errors import DSVAEError
from dsvae.visualise.grids import (
    PAD,
    VECTOR_CELL_WIDTH,
    heat_colours,
    save_matrix_gif,
    save_sequence_grid,
    sequence_grid,
)


def test_grid_puts_sequences_in_rows_and_frames_in_columns(tmp_path: Path) -> None:
    R, T, H, W = 3, 4, 8, 8
    x = torch.zeros(R, T, 3, H, W)
    x[1, 2] = 1.0  # one white frame: row 1, column 2
    path = tmp_path / "sub" / "grid.png"
    save_sequence_grid(x, path)
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape == (R * H + (R - 1) * PAD, T * W + (T - 1) * PAD, 3)
    y0, x0 = 1 * (H + PAD), 2 * (W + PAD)
    assert (img[y0 : y0 + H, x0 : x0 + W] == 255).all()
    assert (img[0:H, 0:W] == 0).all()  # a black frame stays black
    assert not list(path.parent.glob(".*tmp"))  # no temporary file left behind


def test_grey_frames_become_rgb_and_values_are_clamped() -> None:
    x = torch.tensor([-1.0, 0.5, 2.0]).view(1, 3, 1, 1, 1)  # (R=1, T=3, C=1, 1, 1)
    pic = sequence_grid(x)
    assert pic[0, 0].tolist() == [0, 0, 0]
    assert pic[0, 1 + PAD].tolist() == [128, 128, 128]
    assert pic[0, 2 + 2 * PAD].tolist() == [255, 255, 255]


def test_vector_frames_are_drawn_as_spectrograms_low_features_at_the_bottom() -> None:
    T, V = 5, 64
    x = torch.zeros(2, T, V)
    x[0, :, 0] = 1.0  # only the first feature is high
    pic = sequence_grid(x)
    assert pic.shape[1] == T * VECTOR_CELL_WIDTH  # frames side by side without gutters
    bottom, top = pic[V - 1, 0], pic[0, 0]
    assert bottom.tolist() == heat_colours(np.array(1.0)).tolist()
    assert top.tolist() == heat_colours(np.array(0.0)).tolist()


def test_bad_shapes_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DSVAEError, match="leading dims"):
        save_sequence_grid(torch.zeros(2, 3, 8, 8), tmp_path / "a.png")  # (R, T, H, W): no channel dim
    with pytest.raises(DSVAEError, match="1 or 3 channels"):
        save_sequence_grid(torch.zeros(1, 2, 2, 4, 4), tmp_path / "b.png")


def test_matrix_gif_has_one_frame_per_time_step(tmp_path: Path) -> None:
    x = torch.rand(2, 3, 5, 3, 8, 8)  # (R, K, T, C, H, W)
    path = save_matrix_gif(x, tmp_path / "m.gif")
    with Image.open(path) as im:
        assert im.n_frames == 5
        assert im.size == (3 * 8 + 2 * PAD, 2 * 8 + PAD)
