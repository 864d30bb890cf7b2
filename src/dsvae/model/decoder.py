"""The frame decoder p(x_t | z_t, f), as the design note gives it.

concat(f, z_t) -> MLP [Z+F, D, 4*4*K] (ReLU) -> reshape (K, 4, 4) -> transposed convs with
filter 3: 4x4xK -> 8x8xK -> ... -> HxWxK (stride 2, ReLU) -> HxWxC (stride 1). The last layer's
output is returned as logits (Bernoulli) or the mean (Gaussian); :meth:`Decoder.mean` applies
the sigmoid for the Bernoulli case. Vector frames use an MLP [Z+F, D, D, V].
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dsvae.config import DSVAEConfig
from dsvae.model.blocks import BASE_SIZE, DeconvNet, mlp


class Decoder(nn.Module):
    """p(x_t | z_t, f) for every t at once."""

    def __init__(self, cfg: DSVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        Z, F, D, K = cfg.dim_z, cfg.dim_f, cfg.dim_hidden, cfg.n_channels
        if cfg.is_vector:
            self.mlp = mlp([Z + F, D, D, cfg.frame_dim])
            self.deconv: nn.Module | None = None
        else:
            self.mlp = mlp([Z + F, D, BASE_SIZE * BASE_SIZE * K], last_act=True)
            self.deconv = DeconvNet(cfg.channels, cfg.image_size, K)
        # Gaussian likelihood: a learned log standard deviation per channel (or feature).
        n_scales = cfg.frame_dim if cfg.is_vector else cfg.channels
        self.log_scale = nn.Parameter(torch.zeros(n_scales)) if cfg.likelihood == "gaussian" else None

    def forward(self, f: Tensor, z: Tensor) -> Tensor:
        """f (B, F), z (B, T, Z) -> logits (Bernoulli) or means (Gaussian), (B, T, *frame)."""
        B, T, _ = z.shape
        fz = torch.cat([f.unsqueeze(1).expand(-1, T, -1), z], -1)  # (B, T, F+Z)
        h = self.mlp(fz.flatten(0, 1))  # (B*T, 16K) or (B*T, V)
        if self.deconv is not None:
            h = self.deconv(h.view(B * T, -1, BASE_SIZE, BASE_SIZE))  # (B*T, C, H, W)
        return h.view(B, T, *self.cfg.frame_shape)

    def mean(self, out: Tensor) -> Tensor:
        """The likelihood's mean from :meth:`forward`'s output: sigmoid for Bernoulli."""
        return torch.sigmoid(out) if self.log_scale is None else out

    def frame_log_scale(self) -> Tensor | None:
        """The Gaussian log std broadcastable to (B, T, *frame), or None for Bernoulli."""
        if self.log_scale is None:
            return None
        shape = (-1,) if self.cfg.is_vector else (-1, 1, 1)
        return self.log_scale.view(*shape)
