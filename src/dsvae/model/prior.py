"""The prior over the dynamics, p(z_1:T) = prod_t p(z_t | h_t).

:class:`ImprovedPrior` is the design note's network (``000_c39da3c9d806aeaa.txt``; DESIGN.md
§1). From the state (z_t, h_t, c_t), starting at zeros, one step is

    c_hat = tanh(W1 [z_t; c_t] + b1)                      MLP1
    phi   = tanh(W2 z_t + b2)                             MLP2
    h_hat = tanh(W3 [z_t; h_t] + b3)                      MLP3
    h_{t+1}, c_{t+1} = LSTMCell(phi, (h_hat, c_hat))
    mu, log_sigma = W4b tanh(W4a h_{t+1} + b4a) + b4b     MLP4

so h and c are deterministic given z_<t+1 (Dirac), and z_{t+1} ~ N(mu, sigma^2).
:class:`LSTMPrior` is the original paper's plain LSTM (z_t fed straight into the cell), kept
for ablations. Both share MLP4 as the output head so that only the recurrence differs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

State = tuple[Tensor, Tensor, Tensor]  # (z, h, c), each (B, Z) or (B, Hd)


class _Prior(nn.Module):
    """Shared rollout logic; subclasses define :meth:`transition`."""

    def __init__(self, dim_z: int, dim_h: int) -> None:
        super().__init__()
        self.dim_z, self.dim_h = dim_z, dim_h
        self.mlp4 = nn.Sequential(nn.Linear(dim_h, dim_h), nn.Tanh(), nn.Linear(dim_h, 2 * dim_z))

    def transition(self, z: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """The deterministic part g: (z_t, h_t, c_t) -> (h_{t+1}, c_{t+1})."""
        raise NotImplementedError

    def initial_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> State:
        """z_0 = h_0 = c_0 = 0."""
        z = torch.zeros(batch_size, self.dim_z, device=device, dtype=dtype)
        h = torch.zeros(batch_size, self.dim_h, device=device, dtype=dtype)
        return z, h, h.clone()

    def step(self, z: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One step: (z_t, h_t, c_t) -> mu, log_sigma of p(z_{t+1} | h_{t+1}), h_{t+1}, c_{t+1}."""
        h, c = self.transition(z, h, c)
        mu, log_sigma = self.mlp4(h).chunk(2, dim=-1)  # (B, Z) each
        return mu, log_sigma, h, c

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Prior parameters along a given sequence (the LOTUS form of the ELBO).

        Args:
            z: (B, T, Z) samples (in training, from the posterior). Step t's parameters are
                computed from z_<t, with z_0 = 0.
        Returns:
            mu, log_sigma: (B, T, Z) each, the parameters of p(z_t | h_t) for t = 1..T.
        """
        B, T, _ = z.shape
        z_prev, h, c = self.initial_state(B, z.device, z.dtype)
        mus, log_sigmas = [], []
        for t in range(T):
            mu, log_sigma, h, c = self.step(z_prev, h, c)
            mus.append(mu)
            log_sigmas.append(log_sigma)
            z_prev = z[:, t]
        return torch.stack(mus, 1), torch.stack(log_sigmas, 1)  # (B, T, Z)

    @torch.no_grad()
    def rollout(
        self,
        batch_size: int,
        n_frames: int,
        z_prefix: Tensor | None = None,
        sample: bool = True,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Roll the prior forward: z_t ~ p(z_t | h_t), optionally after a given prefix.

        Args:
            batch_size: B (ignored when ``z_prefix`` is given).
            n_frames: T, total frames returned (prefix included).
            z_prefix: (B, k, Z) frames to condition on (future prediction), or None.
            sample: draw z_t; if False take the mean mu_t (a deterministic rollout).
            generator: optional RNG for reproducible draws.
        Returns:
            z: (B, T, Z).
        """
        p = next(self.parameters())
        k = 0 if z_prefix is None else z_prefix.shape[1]
        B = batch_size if z_prefix is None else z_prefix.shape[0]
        z_prev, h, c = self.initial_state(B, p.device, p.dtype)
        out = []
        for t in range(n_frames):
            mu, log_sigma, h, c = self.step(z_prev, h, c)
            if t < k:
                z_t = z_prefix[:, t].to(p.dtype)  # type: ignore[index]
            elif sample:
                eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
                z_t = mu + log_sigma.exp() * eps
            else:
                z_t = mu
            out.append(z_t)
            z_prev = z_t
        return torch.stack(out, 1)  # (B, T, Z)


class ImprovedPrior(_Prior):
    """The design note's more stable prior network (MLP1-MLP3 around an LSTM cell, then MLP4)."""

    def __init__(self, dim_z: int, dim_h: int) -> None:
        super().__init__(dim_z, dim_h)
        self.mlp1 = nn.Linear(dim_z + dim_h, dim_h)  # [z_t; c_t] -> c_hat
        self.mlp2 = nn.Linear(dim_z, dim_h)  # z_t -> phi_t
        self.mlp3 = nn.Linear(dim_z + dim_h, dim_h)  # [z_t; h_t] -> h_hat
        self.cell = nn.LSTMCell(dim_h, dim_h)

    def transition(self, z: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        c_hat = torch.tanh(self.mlp1(torch.cat([z, c], -1)))  # (B, Hd)
        phi = torch.tanh(self.mlp2(z))  # (B, Hd)
        h_hat = torch.tanh(self.mlp3(torch.cat([z, h], -1)))  # (B, Hd)
        return self.cell(phi, (h_hat, c_hat))


class LSTMPrior(_Prior):
    """The original paper's prior: z_t is the LSTM's input, (h_t, c_t) its state."""

    def __init__(self, dim_z: int, dim_h: int) -> None:
        super().__init__(dim_z, dim_h)
        self.cell = nn.LSTMCell(dim_z, dim_h)

    def transition(self, z: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        return self.cell(z, (h, c))


def build_prior(kind: str, dim_z: int, dim_h: int) -> _Prior:
    """``"improved"`` (default, the note) or ``"lstm"`` (the paper's original)."""
    return ImprovedPrior(dim_z, dim_h) if kind == "improved" else LSTMPrior(dim_z, dim_h)
