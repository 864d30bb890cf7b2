"""Small building blocks: the conv feature net, the deconv net, MLPs and Gaussian heads.

Shape legend (used across the package): B batch, T frames, C/H/W image channels/height/width,
V frame_dim (vector frames), F dim_f, Z dim_z, Hd dim_h, D dim_hidden, K channels.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

BASE_SIZE = 4  # the deconv net starts from 4x4 maps (the design note)
KERNEL = 3  # the note's filter size


def n_doublings(image_size: int) -> int:
    """Number of stride-2 layers between 4x4 and ``image_size`` (log2(H/4))."""
    return int(math.log2(image_size // BASE_SIZE))


def mlp(sizes: list[int], act: type[nn.Module] = nn.ReLU, last_act: bool = False) -> nn.Sequential:
    """Linear layers of the given widths with ``act`` between them (and after the last if asked)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or last_act:
            layers.append(act())
    return nn.Sequential(*layers)


class GaussianHead(nn.Module):
    """Maps features to the mean and log standard deviation of a diagonal Gaussian."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, init_std: float = 0.0) -> None:
        super().__init__()
        self.net = mlp([in_dim, hidden, 2 * out_dim])
        if init_std > 0:
            last = self.net[-1]
            assert isinstance(last, nn.Linear)
            init_log_std(last, init_std)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """(..., in_dim) -> mean (..., out), log_std (..., out)."""
        mean, log_std = self.net(h).chunk(2, dim=-1)
        return mean, log_std


def init_log_std(layer: nn.Linear, std: float) -> None:
    """Start a Gaussian head at a fixed standard deviation: the log-std half of ``layer``'s
    outputs (the second half) gets zero weights and bias log(std); the means keep their init.

    With PyTorch's default init a posterior starts with std ~1 in every dimension, so the
    decoder first sees f and z_t as mostly noise and learns to ignore them; a small starting
    std lets information through from the first step (the KL term then widens unused
    dimensions again). Only the initialisation changes, not the model or the ELBO.
    """
    half = layer.out_features // 2
    with torch.no_grad():
        layer.weight[half:].zero_()
        layer.bias[half:].fill_(math.log(std))


def conv_transpose_bias_apart(layer: nn.ConvTranspose2d, x: Tensor) -> Tensor:
    """``layer(x)`` with the bias added after the convolution: (N, K_in, h, w) -> (N, K_out, H, W).

    The same function and parameters. PyTorch's oneDNN backward of a transposed conv reduces
    the bias gradient with a slow kernel (measured on this project's CPU, one thread, 32 frames,
    K=256, 32x32 -> 64x64: 1.10 s for the three gradients against 0.82 s for input and weight
    alone, while ``g.sum((0, 2, 3))`` takes 0.014 s); added apart, autograd reduces it with a
    plain sum. The in-place add is safe: the conv's backward reads its input and weight, not
    its output.
    """
    y = F.conv_transpose2d(
        x, layer.weight, None, layer.stride, layer.padding,  # type: ignore[arg-type]  # a tuple: str is Conv2d's
        layer.output_padding, layer.groups, layer.dilation,
    )  # fmt: skip
    if layer.bias is not None:
        y = y.add_(layer.bias.view(1, -1, 1, 1))
    return y


def run_conv_stack(net: nn.Sequential, x: Tensor, fast: bool) -> Tensor:
    """Apply a stack of convs and ReLUs: (N, C_in, H_in, W_in) -> (N, C_out, H_out, W_out).

    ``fast=False`` is the plain reference, ``net(x)``. ``fast=True`` computes the same function
    with fewer passes over memory: each ReLU runs in place on the conv output before it (a
    conv's backward never reads its output, ReLU's backward reads only its result), which saves
    a fresh allocation of the largest activations per layer, and transposed convs add their bias
    apart (:func:`conv_transpose_bias_apart`).
    """
    if not fast:
        return net(x)
    for layer in net:
        if isinstance(layer, nn.ReLU):
            x = torch.relu_(x)
        elif isinstance(layer, nn.ConvTranspose2d):
            x = conv_transpose_bias_apart(layer, x)
        else:
            x = layer(x)
    return x


class ConvFeatures(nn.Module):
    """Per-frame conv net mirroring the decoder: C x H x W -> K x 4 x 4 -> D features."""

    def __init__(self, channels: int, image_size: int, k: int, dim_out: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, k, KERNEL, stride=1, padding=1), nn.ReLU()]
        for _ in range(n_doublings(image_size)):
            layers += [nn.Conv2d(k, k, KERNEL, stride=2, padding=1), nn.ReLU()]
        self.conv = nn.Sequential(*layers)
        self.fc = mlp([k * BASE_SIZE * BASE_SIZE, dim_out], last_act=True)
        self.fast_path = True  # False: the plain nn.Sequential reference (see run_conv_stack)

    def forward(self, x: Tensor) -> Tensor:
        """x (N, C, H, W) -> features (N, D)."""
        h = run_conv_stack(self.conv, x, self.fast_path)  # (N, K, 4, 4)
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
        self.fast_path = True  # False: the plain nn.Sequential reference (see run_conv_stack)

    def forward(self, h: Tensor) -> Tensor:
        """h (N, K, 4, 4) -> pre-activation output (N, C, H, W)."""
        return run_conv_stack(self.net, h, self.fast_path)
