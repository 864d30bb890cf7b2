"""write_samples (called by the training loop) and the swap matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dsvae import DSVAE, DSVAEConfig
from dsvae.visualise.grids import sequence_grid
from dsvae.visualise.matrices import swap_cells, with_edges
from dsvae.visualise.samples import interleave, write_samples


def test_swap_matrix_diagonal_is_the_reconstruction(tiny_config: DSVAEConfig) -> None:
    model = DSVAE(tiny_config).eval()
    x = torch.rand(3, tiny_config.n_frames, 3, 16, 16)
    cells = swap_cells(model, x)
    assert cells.shape == (3, 3, tiny_config.n_frames, 3, 16, 16)
    recon = model.reconstruct(x)
    for i in range(3):
        torch.testing.assert_close(cells[i, i], recon[i], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(cells[0, 2], model.swap(x[:1], x[2:3])[0], rtol=1e-5, atol=1e-6)
    assert not torch.equal(cells[0, 1], cells[0, 2])  # the columns really differ in z


def test_edges_hold_the_sources() -> None:
    cells, x = torch.rand(2, 2, 3, 5), torch.rand(2, 3, 5)
    framed = with_edges(cells, x, blank=-1.0)
    assert framed.shape == (3, 3, 3, 5)
    assert torch.equal(framed[0, 1:], x) and torch.equal(framed[1:, 0], x)
    assert (framed[0, 0] == -1).all() and torch.equal(framed[1:, 1:], cells)


def test_write_samples_writes_three_pngs(tiny_config: DSVAEConfig, tmp_path: Path) -> None:
    model = DSVAE(tiny_config).eval()
    x = torch.rand(4, tiny_config.n_frames, 3, 16, 16)
    paths = write_samples(model, x, tmp_path / "samples", tag="step0000010")
    assert [p.name for p in paths] == ["step0000010_recon.png", "step0000010_swap.png", "step0000010_prior.png"]
    recon = np.asarray(Image.open(paths[0]).convert("RGB"))
    # the unlabelled grid sits whole inside the labelled picture: 4 originals each above its reconstruction
    expected = sequence_grid(interleave(x, model.reconstruct(x)))
    assert embedded_at(recon, expected) is not None
    T = tiny_config.n_frames
    assert expected.shape == (8 * 16 + 7 * 2, T * 16 + (T - 1) * 2, 3)  # T frames of 16 px with 2 px gutters
    prior = np.asarray(Image.open(paths[2]).convert("RGB"))
    assert prior.shape[0] >= 4 * 16 + 3 * 2 and prior.shape[1] > T * 16 + (T - 1) * 2  # 4 samples, row labels


def embedded_at(picture: np.ndarray, part: np.ndarray) -> int | None:
    """The column where ``part`` sits at the bottom of ``picture`` (labels go above and left), or None."""
    H, W = part.shape[:2]
    for left in range(picture.shape[1] - W + 1):
        if np.array_equal(picture[-H:, left : left + W], part):
            return left
    return None


def test_write_samples_on_vector_frames(tmp_path: Path) -> None:
    cfg = DSVAEConfig(n_frames=6, frame_dim=20, dim_z=4, dim_f=8, dim_h=16, dim_hidden=32, likelihood="gaussian")
    model = DSVAE(cfg).eval()
    paths = write_samples(model, torch.randn(3, 6, 20), tmp_path, tag="t")
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
