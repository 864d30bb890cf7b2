"""C-DSVAE's contrastive mutual-information terms: an optional change of the objective, off by default.

J. Bai, W. Wang and C. Gomes, "Contrastively Disentangled Sequential Variational Autoencoder",
NeurIPS 2021 (arXiv:2110.12091). Where the ELBO alone cannot decide which latent carries what,
C-DSVAE maximises

    ELBO + lambda_f * I(f; x_1:T) + lambda_z * I(z_1:T; x_1:T)   (- lambda_fz * I(f; z_1:T), not here)

and estimates each mutual information by InfoNCE over the batch, with augmented views that keep
one factor and destroy the other:

- I(f; x): the positive of sequence i is f of a *content-preserving* view of x_i, its frames in a
  random order (:func:`shuffle_frames`: the appearance stays, the motion is gone); the negatives
  are the other sequences' views.
- I(z; x): the positive is z_1:T of a *motion-preserving* view, the same random colour change on
  every frame of x_i (:func:`jitter_colours`: the appearance changes, the motion stays).

With a_i, b_j the embeddings of sequence i and of view j, sim the cosine similarity and tau the
temperature,

    InfoNCE = mean_i [ -log softmax_j(sim(a_i, b_j) / tau)_i ],    I_hat = log B - InfoNCE <= log B,

and training minimises ``loss = -ELBO + w_f * InfoNCE_f + w_z * InfoNCE_z`` (the same gradients as
maximising w * I_hat, since log B is a constant).

What this follows and where it departs from the paper:

- followed: InfoNCE with in-batch negatives, cosine similarity over a temperature, frame
  shuffling as the content augmentation, appearance changes that are constant over time as the
  motion augmentation, z_1:T summarised over time before the comparison;
- the embeddings are the posterior *means* (f_mean, and the time mean of z_mean), not samples:
  the comparison then sees no reparameterisation noise, and the terms add no random draws to
  the main forward pass (the global noise stream of a run is unchanged);
- the motion augmentation is a per-sequence permutation of the colour channels and a
  per-channel contrast/brightness change that keeps intensities in [0, 1] (no blur, crop or
  reshaping as in the paper's image pipeline); for vector frames (audio features) it is a
  per-feature gain and offset only;
- the paper's penalty on I(f; z_1:T) (estimated there by minibatch-weighted sampling) is not
  implemented;
- one direction of InfoNCE (original against views), as written above, not the symmetric form.

The augmentations take a ``torch.Generator`` so that every DDP rank draws its own views and a
resumed run draws the same ones (the trainer seeds it from (seed, rank, step), like the
reparameterisation noise).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

# The contrast of the motion-preserving view is drawn from [MIN_CONTRAST, 1]: low enough to
# change the appearance clearly, high enough that the motion stays visible.
MIN_CONTRAST = 0.5
GAIN_SPREAD = 0.5  # vector frames: gains from [1 - spread, 1 + spread] ...
OFFSET_SPREAD = 0.5  # ... and offsets from +-spread times the feature's spread over the sequence


def shuffle_frames(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """The content-preserving view: each sequence's frames in its own random order.

    Args:
        x: (B, T, *frame).
        generator: the source of the permutations (on ``x``'s device or the CPU).
    Returns:
        (B, T, *frame): row i holds the frames of x[i], permuted.
    """
    B, T = x.shape[:2]
    keys = torch.rand(B, T, generator=generator, device=_gen_device(generator))
    order = keys.argsort(dim=1).to(x.device)  # (B, T) a uniform random permutation per sequence
    index = order.view(B, T, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


def jitter_colours(x: Tensor, generator: torch.Generator | None = None, bounded: bool = True) -> Tensor:
    """The motion-preserving view: one random appearance change per sequence, the same on every frame.

    Image frames (B, T, C, H, W): the channels are permuted (C > 1), then each channel c becomes
    ``a_c * x + b_c`` with contrast a_c in [MIN_CONTRAST, 1] and brightness b_c in [0, 1 - a_c], so
    that values stay in [0, 1] and frame differences are only scaled (x_t - x_s -> a (x_t - x_s)).
    Vector frames (B, T, V): each feature v becomes ``g_v * x + o_v`` (no permutation: the features
    are ordered, e.g. mel bins); ``bounded`` keeps [0, 1] data in [0, 1] as for images.

    Args:
        x: (B, T, C, H, W) or (B, T, V).
        generator: the source of the random changes.
        bounded: the data lie in [0, 1] (a Bernoulli model); False for unbounded features.
    Returns:
        a tensor of ``x``'s shape.
    """
    B, T, C = x.shape[:3]
    dev = _gen_device(generator)
    image = x.dim() == 5
    if image and C > 1:
        perm = torch.rand(B, C, generator=generator, device=dev).argsort(dim=1).to(x.device)  # (B, C)
        x = x.gather(2, perm.view(B, 1, C, 1, 1).expand_as(x))
    u = torch.rand(2, B, C, generator=generator, device=dev).to(device=x.device, dtype=x.dtype)  # (2, B, C)
    if image or bounded:
        a = MIN_CONTRAST + (1 - MIN_CONTRAST) * u[0]  # (B, C) contrast
        b = (1 - a) * u[1]  # (B, C) brightness, so that a * x + b stays in [0, 1]
    else:
        a = 1 + GAIN_SPREAD * (2 * u[0] - 1)
        spread = x.std(dim=1) if T > 1 else torch.ones_like(x[:, 0])  # (B, V)
        b = OFFSET_SPREAD * (2 * u[1] - 1) * spread
    shape = (B, 1, C) + (1,) * (x.dim() - 3)  # broadcast over time (and pixels)
    return a.view(shape) * x + b.view(shape)


def info_nce(a: Tensor, b: Tensor, temperature: float) -> Tensor:
    """InfoNCE of embeddings ``a`` against their positives ``b``, the other rows being negatives.

    Args:
        a: (B, D) embeddings of the sequences.
        b: (B, D) embeddings of their views; b[i] is the positive of a[i].
        temperature: tau > 0, dividing the cosine similarities.
    Returns:
        scalar: mean_i -log softmax_j(cos(a_i, b_j) / tau)_i, between 0 and (for equal rows) log B.
    """
    a = F.normalize(a.float(), dim=1)  # float: the softmax of a bf16 autocast pass loses too much
    b = F.normalize(b.float(), dim=1)
    logits = a @ b.T / temperature  # (B, B)
    target = torch.arange(a.shape[0], device=a.device)
    return F.cross_entropy(logits, target)


def mutual_information_estimate(nce: Tensor, batch_size: int) -> Tensor:
    """The InfoNCE lower bound on the mutual information: log B - InfoNCE (nats)."""
    return math.log(batch_size) - nce


def _gen_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")
