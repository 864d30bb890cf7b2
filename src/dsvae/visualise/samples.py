"""Sample pictures written during training: reconstructions, a swap matrix, prior generations."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from dsvae.model import DSVAE
from dsvae.visualise.grids import (
    is_vector,
    labelled_sequence_grid,
    labelled_strip_matrix,
    save_picture,
    value_range,
)
from dsvae.visualise.labels import Labels
from dsvae.visualise.matrices import prior_samples, swap_cells, with_edges

SWAP_SEQUENCES = 6  # sources of the swap matrix: a 6x6 matrix stays readable at 64 px frames


def interleave(a: Tensor, b: Tensor) -> Tensor:
    """Rows a_0, b_0, a_1, b_1, ...: (B, ...) and (B, ...) -> (2B, ...)."""
    return torch.stack([a, b], 1).flatten(0, 1)


@torch.no_grad()
def write_samples(model: DSVAE, x: Tensor, out_dir: Path, tag: str) -> list[Path]:
    """Write the pictures of one batch and return their paths.

    Files (PNG, atomic): ``<tag>_recon.png`` (each sequence above its reconstruction),
    ``<tag>_swap.png`` (content of row i with the dynamics of column j, sources on the
    edges) and ``<tag>_prior.png`` (B sequences from p(f) p(z_1:T)). Vector frames are drawn
    as spectrograms on the scale of ``x``.

    Args:
        model: the model (its mode is left as it was; call ``model.eval()`` first).
        x: (B, T, C, H, W) in [0, 1] or (B, T, V), on the model's device.
        out_dir: folder to write into (created).
        tag: file name prefix, e.g. ``step0001000``.
    """
    out_dir = Path(out_dir)
    vector = is_vector(x, lead=1)
    vrange = value_range(x) if vector else None
    x_cpu = x.detach().float().cpu()
    recon = model.reconstruct(x).float().cpu()  # (B, T, *frame)
    paths = [out_dir / f"{tag}_recon.png", out_dir / f"{tag}_swap.png", out_dir / f"{tag}_prior.png"]
    B, T = x.shape[:2]
    frames = [] if vector else [f"t={t + 1}" for t in range(T)]
    recon_labels = Labels(f"{tag}: inputs and their reconstructions", ["input", "reconstruction"] * B, frames)
    save_picture(labelled_sequence_grid(interleave(x_cpu, recon), recon_labels, vrange), paths[0])

    n = min(SWAP_SEQUENCES, B)
    cells = swap_cells(model, x[:n]).float()  # (n, n, T, *frame)
    blank = vrange[0] if vrange else 1.0
    swap_labels = Labels(f"{tag}: row: f (content) from the left edge; column: z_1:T (motion) from the top edge",
                         ["z from:", *(f"f from {i + 1}" for i in range(n))],
                         ["f from:", *(f"z from {i + 1}" for i in range(n))])  # fmt: skip
    save_picture(labelled_strip_matrix(with_edges(cells, x_cpu[:n], blank), swap_labels, vrange), paths[1])

    gen = prior_samples(model, B, T).float()  # (B, T, *frame)
    samples = [f"sample {i + 1}" for i in range(B)]
    prior_labels = Labels(f"{tag}: f and z_1:T both drawn from the prior", samples, frames)
    save_picture(labelled_sequence_grid(gen, prior_labels, vrange), paths[2])
    return paths
