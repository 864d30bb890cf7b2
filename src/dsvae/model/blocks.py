"""Small building blocks: the conv feature net, the deconv net, MLPs and Gaussian heads.

Shape legend (used across the package): B batch, T frames, C/H/W image channels/height/width,
V frame_dim (vector frames), F dim_f, Z dim_z, Hd dim_h, D dim_hidden, K channels.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

BASE_SIZE = 4  # the deconv net starts from 4x4 maps (the design note)
KERNEL = 3  # the note's filter size


def n_doublings(image_size: int) -> int:
    """Number of stride-2 layers between 4x4 and ``image_size`` (log2(H/4))."""
    return int(math.log2(image_size // BASE_SIZE))


def mlp(sizes: list[int], act: type[nn.Module] = nn.ReLU, last_act: bool = False) -> nn.Sequential:
    """Linear layers of the given widths with ``act`` between them (and after the last if asked)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or last_act:
            layers.append(act())
    return nn.Sequential(*layers)


class GaussianHead(nn.Module):
    """Maps features to the mean and log standard deviation of a diagonal Gaussian."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.net = mlp([in_dim, hidden, 2 * out_dim])

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """(..., in_dim) -> mean (..., out), log_std (..., out)."""
        mean, log_std = self.net(h).chunk(2, dim=-1)
        return mean, log_std


class ConvFeatures(nn.Module):
    """Per-frame conv net mirroring the decoder: C x H x W -> K x 4 x 4 -> D features."""

    def __init__(self, channels: int, image_size: int, k: int, dim_out: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, k, KERNEL, stride=1, padding=1), nn.ReLU()]
        for _ in range(n_doublings(image_size)):
            layers += [nn.Conv2d(k, k, KERNEL, stride=2, padding=1), nn.ReLU()]
        self.conv = nn.Sequential(*layers)
        self.fc = mlp([k * BASE_SIZE * BASE_SIZE, dim_out], last_act=True)

    def forward(self, x: Tensor) -> Tensor:
        """x (N, C, H, W) -> features (N, D)."""
        h = self.conv(x)  # (N, K, 4, 4)
        return self.fc(h.flatten(1))  # (N, D)


class DeconvNet(nn.Module):
    """The note's deconv net: K x 4 x 4 -> K x 8 x 8 -> ... -> K x H x W -> C x H x W (logits)."""

    def __init__(self, channels: int, image_size: int, k: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(n_doublings(image_size)):
            layers += [
                nn.ConvTranspose2d(k, k, KERNEL, stride=2, padding=1, output_padding=1),
                nn.ReLU(),
            ]
        layers.append(nn.ConvTranspose2d(k, channels, KERNEL, stride=1, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, h: Tensor) -> Tensor:
        """h (N, K, 4, 4) -> pre-activation output (N, C, H, W)."""
        return self.net(h)
