"""The approximate posterior q(f, z_1:T | x_1:T).

One feature extractor (a conv net mirroring the decoder, or an MLP for vector frames) is
shared by both latents, as the design note recommends:

- ``factorised`` (the note's choice): q(f | x_1:T) prod_t q(z_t | x_t); q(z_t) reads frame t's
  features only, q(f) an aggregate over time (the paper's bi-LSTM, last forward and first
  backward states, or a mean over frames).
- ``full`` (the paper's second variant): q(f | x_1:T) q(z_1:T | x_1:T, f); a bi-LSTM reads
  [features_t; f] and a forward RNN over its outputs gives q(z_t).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dsvae.config import DSVAEConfig
from dsvae.model.blocks import ConvFeatures, GaussianHead, init_log_std, mlp


@dataclass
class Posterior:
    """Parameters of q(f | x) and q(z_t | ...): means and log standard deviations."""

    f_mean: Tensor  # (B, F)
    f_logstd: Tensor  # (B, F)
    z_mean: Tensor  # (B, T, Z)
    z_logstd: Tensor  # (B, T, Z)

    @property
    def f_std(self) -> Tensor:
        return self.f_logstd.exp()

    @property
    def z_std(self) -> Tensor:
        return self.z_logstd.exp()


def reparameterise(mean: Tensor, logstd: Tensor) -> Tensor:
    """A sample mean + std * eps with eps ~ N(0, I), differentiable in mean and logstd."""
    return mean + logstd.exp() * torch.randn_like(mean)


class FrameFeatures(nn.Module):
    """The shared per-frame feature extractor: (B, T, *frame) -> (B, T, D)."""

    def __init__(self, cfg: DSVAEConfig) -> None:
        super().__init__()
        if cfg.is_vector:
            self.net: nn.Module = mlp([cfg.frame_dim, cfg.dim_hidden, cfg.dim_hidden], last_act=True)
        else:
            self.net = ConvFeatures(cfg.channels, cfg.image_size, cfg.enc_channels, cfg.dim_hidden)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T, C, H, W) or (B, T, V) -> (B, T, D)."""
        B, T = x.shape[:2]
        h = self.net(x.flatten(0, 1))  # (B*T, D)
        return h.view(B, T, -1)  # (B, T, D)


class StaticEncoder(nn.Module):
    """q(f | x_1:T) from the frame features."""

    def __init__(self, cfg: DSVAEConfig) -> None:
        super().__init__()
        self.aggregate = cfg.f_aggregate
        if self.aggregate == "lstm":
            self.rnn = nn.LSTM(cfg.dim_hidden, cfg.dim_h, batch_first=True, bidirectional=True)
            self.head = GaussianHead(2 * cfg.dim_h, cfg.dim_h, cfg.dim_f, cfg.posterior_init_std)
        else:
            self.head = GaussianHead(cfg.dim_hidden, cfg.dim_h, cfg.dim_f, cfg.posterior_init_std)

    def forward(self, feats: Tensor) -> tuple[Tensor, Tensor]:
        """feats (B, T, D) -> f_mean, f_logstd (B, F)."""
        if self.aggregate == "lstm":
            out, _ = self.rnn(feats)  # (B, T, 2Hd)
            Hd = out.shape[-1] // 2
            summary = torch.cat([out[:, -1, :Hd], out[:, 0, Hd:]], -1)  # (B, 2Hd)
        else:
            summary = feats.mean(1)  # (B, D)
        return self.head(summary)


class FactorisedDynamicEncoder(nn.Module):
    """q(z_t | x_t): frame t's features only."""

    def __init__(self, cfg: DSVAEConfig) -> None:
        super().__init__()
        self.head = GaussianHead(cfg.dim_hidden, cfg.dim_h, cfg.dim_z, cfg.posterior_init_std)

    def forward(self, feats: Tensor, f: Tensor) -> tuple[Tensor, Tensor]:
        """feats (B, T, D), f (B, F) unused -> z_mean, z_logstd (B, T, Z)."""
        return self.head(feats)


class FullDynamicEncoder(nn.Module):
    """q(z_1:T | x_1:T, f): bi-LSTM over [features_t; f], then a forward RNN (the paper's full q)."""

    def __init__(self, cfg: DSVAEConfig) -> None:
        super().__init__()
        self.bilstm = nn.LSTM(cfg.dim_hidden + cfg.dim_f, cfg.dim_h, batch_first=True, bidirectional=True)
        self.rnn = nn.RNN(2 * cfg.dim_h, cfg.dim_h, batch_first=True)
        self.head = nn.Linear(cfg.dim_h, 2 * cfg.dim_z)
        if cfg.posterior_init_std > 0:
            init_log_std(self.head, cfg.posterior_init_std)

    def forward(self, feats: Tensor, f: Tensor) -> tuple[Tensor, Tensor]:
        """feats (B, T, D), f (B, F) -> z_mean, z_logstd (B, T, Z)."""
        T = feats.shape[1]
        inp = torch.cat([feats, f.unsqueeze(1).expand(-1, T, -1)], -1)  # (B, T, D+F)
        h, _ = self.bilstm(inp)  # (B, T, 2Hd)
        h, _ = self.rnn(h)  # (B, T, Hd)
        mean, logstd = self.head(h).chunk(2, -1)  # (B, T, Z) each
        return mean, logstd


class Encoder(nn.Module):
    """q(f, z_1:T | x_1:T) with one shared feature extractor."""

    def __init__(self, cfg: DSVAEConfig) -> None:
        super().__init__()
        self.features = FrameFeatures(cfg)
        self.q_f = StaticEncoder(cfg)
        self.q_z: nn.Module = FactorisedDynamicEncoder(cfg) if cfg.encoder == "factorised" else FullDynamicEncoder(cfg)

    def forward(self, x: Tensor, sample: bool = True) -> tuple[Posterior, Tensor, Tensor]:
        """x (B, T, *frame) -> posterior, f (B, F), z (B, T, Z).

        With ``sample`` the latents are reparameterised draws (training); otherwise the means.
        The full-q encoder conditions z on that f.
        """
        feats = self.features(x)  # (B, T, D)
        f_mean, f_logstd = self.q_f(feats)  # (B, F)
        f = reparameterise(f_mean, f_logstd) if sample else f_mean
        z_mean, z_logstd = self.q_z(feats, f)  # (B, T, Z)
        z = reparameterise(z_mean, z_logstd) if sample else z_mean
        return Posterior(f_mean, f_logstd, z_mean, z_logstd), f, z
