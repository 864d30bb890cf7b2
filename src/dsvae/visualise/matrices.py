"""The tensors behind the pictures: swap matrices, fixed-f and fixed-z generations, interpolations.

Shape legend: B sequences, n sequences used for a matrix, K draws, T frames, F = dim_f,
Z = dim_z, ``*frame`` = (C, H, W) or (V,). All functions run the model without gradients
and return frames on the CPU.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dsvae.model import DSVAE


@torch.no_grad()
def swap_cells(model: DSVAE, x: Tensor) -> Tensor:
    """Cell (i, j) = decode(f of sequence i, z_1:T of sequence j): x (n, T, *frame) -> (n, n, T, *frame).

    The diagonal is decode(f_i, z_i), the reconstruction of sequence i.
    """
    post = model.encode(x)
    n = post.z_mean.shape[0]
    f = post.f_mean.repeat_interleave(n, 0)  # (n*n, F): row i repeated for every column
    z = post.z_mean.repeat(n, 1, 1)  # (n*n, T, Z): columns cycle through the sequences
    out = model.decode(f, z)  # (n*n, T, *frame)
    return out.view(n, n, *out.shape[1:]).cpu()


def with_edges(cells: Tensor, x: Tensor, blank: float) -> Tensor:
    """Frame a swap matrix with its sources: (n, n, T, *frame) -> (n+1, n+1, T, *frame).

    Row 0 holds the sequences whose dynamics each column takes, column 0 those whose content
    each row takes; the corner is filled with ``blank``.
    """
    n = cells.shape[0]
    x = x.detach().cpu().to(cells.dtype)
    out = torch.full((n + 1, n + 1, *cells.shape[2:]), blank, dtype=cells.dtype)
    out[1:, 1:] = cells
    out[0, 1:] = x
    out[1:, 0] = x
    return out


@torch.no_grad()
def fixed_f(model: DSVAE, x: Tensor, n_draws: int, generator: torch.Generator | None = None) -> Tensor:
    """Each sequence's f (posterior mean) with ``n_draws`` z_1:T from the prior: (B, K+1, T, *frame).

    Column 0 is the original sequence.
    """
    post = model.encode(x)
    B, T = post.z_mean.shape[:2]
    z = model.sample_z(B * n_draws, T, generator=generator)  # (B*K, T, Z)
    out = model.decode(post.f_mean.repeat_interleave(n_draws, 0), z)  # (B*K, T, *frame)
    out = out.view(B, n_draws, *out.shape[1:]).cpu()
    return torch.cat([x.detach().cpu()[:, None].to(out.dtype), out], 1)


@torch.no_grad()
def fixed_z(model: DSVAE, x: Tensor, n_draws: int, generator: torch.Generator | None = None) -> Tensor:
    """Each sequence's z_1:T (posterior mean) with ``n_draws`` f from p(f): (B, K+1, T, *frame).

    Column 0 is the original sequence.
    """
    post = model.encode(x)
    B = post.z_mean.shape[0]
    f = model.sample_f(B * n_draws, generator=generator)  # (B*K, F)
    out = model.decode(f, post.z_mean.repeat_interleave(n_draws, 0))  # (B*K, T, *frame)
    out = out.view(B, n_draws, *out.shape[1:]).cpu()
    return torch.cat([x.detach().cpu()[:, None].to(out.dtype), out], 1)


@torch.no_grad()
def interpolate_f(model: DSVAE, x_a: Tensor, x_b: Tensor, z_from: Tensor, n_steps: int) -> Tensor:
    """f moved linearly from sequence a's to b's, dynamics of ``z_from``: (n_steps, T, *frame).

    Args:
        x_a, x_b: (1, T, *frame) the two ends.
        z_from: (1, T, *frame) the sequence whose z_1:T is kept.
        n_steps: points on the line, ends included (>= 2).
    """
    f_a, f_b = model.encode(x_a).f_mean, model.encode(x_b).f_mean  # (1, F)
    z = model.encode(z_from).z_mean  # (1, T, Z)
    w = torch.linspace(0, 1, n_steps, device=f_a.device, dtype=f_a.dtype)[:, None]  # (n, 1)
    f = (1 - w) * f_a + w * f_b  # (n, F)
    return model.decode(f, z.expand(n_steps, -1, -1)).cpu()


@torch.no_grad()
def prior_samples(model: DSVAE, n: int, n_frames: int, generator: torch.Generator | None = None) -> Tensor:
    """Sequences drawn from the model: f ~ p(f), z_1:T ~ p(z): (n, T, *frame)."""
    return model.generate(batch_size=n, n_frames=n_frames, generator=generator).cpu()


@torch.no_grad()
def future(model: DSVAE, x: Tensor, n_given: int) -> Tensor:
    """Future prediction from the first ``n_given`` frames: (B, 2, T, *frame), originals then predictions."""
    T = x.shape[1]
    pred = model.predict(x[:, :n_given], T).cpu()  # (B, T, *frame)
    return torch.stack([x.detach().cpu().to(pred.dtype), pred], 1)
