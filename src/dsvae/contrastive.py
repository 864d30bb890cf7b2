"""C-DSVAE's contrastive mutual-information terms: an optional change of the objective, off by default.

J. Bai, W. Wang and C. Gomes, "Contrastively Disentangled Sequential Variational Autoencoder",
NeurIPS 2021 (arXiv:2110.12091). Where the ELBO alone cannot decide which latent carries what,
C-DSVAE maximises

    ELBO + lambda_f * I(f; x_1:T) + lambda_z * I(z_1:T; x_1:T) - lambda_fz * I(f; z_1:T)

and estimates the first two mutual informations by InfoNCE over the batch, with augmented views
that keep one factor and destroy the other:

- I(f; x): the positive of sequence i is f of a *content-preserving* view of x_i, its frames in a
  random order (:func:`shuffle_frames`: the appearance stays, the motion is gone); the negatives
  are the other sequences' views.
- I(z; x): the positive is z_1:T of a *motion-preserving* view, the same random colour change on
  every frame of x_i (:func:`jitter_colours`: the appearance changes, the motion stays).

With a_i, b_j the embeddings of sequence i and of view j, sim the cosine similarity and tau the
temperature,

    InfoNCE = mean_i [ -log softmax_j(sim(a_i, b_j) / tau)_i ],    I_hat = log B - InfoNCE <= log B,

and training minimises ``loss = -ELBO + w_f * InfoNCE_f + w_z * InfoNCE_z + w_fz * I_hat(f; z)`` (the
InfoNCE terms give the gradients of maximising w * I_hat, since log B is a constant). The penalty
I(f; z_1:T) is estimated by minibatch-weighted sampling (:func:`mws_mutual_information`, after
Chen et al. 2018, as the paper does) from the step's own posterior samples: no extra pass.

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
- minibatch-weighted sampling takes the batch as the population (the aggregate posterior is
  the mixture of the batch's posteriors), so no data-set size enters and I_hat <= log B (it is
  0 for identical posteriors, log B when both f and z single out their sequence, and can dip
  slightly below 0 by sampling); with the full-q encoder, q(z_1:T | x_j) is the one computed
  with x_j's own sample of f;
- one direction of InfoNCE (original against views), as written above, not the symmetric form.

Scale: the ELBO here is summed over frames and pixels (thousands of nats per sequence for
images) while each InfoNCE lies in [0, log B], so weights near 1 barely move training; the
tests need about 100 to see the terms fall within a few steps.

The augmentations take a ``torch.Generator`` so that every DDP rank draws its own views and a
resumed run draws the same ones (the trainer seeds it from (seed, rank, step), like the
reparameterisation noise).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from dsvae.objective import PosteriorParams, gaussian_log_prob

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


def mws_mutual_information(f: Tensor, z: Tensor, post: PosteriorParams) -> Tensor:
    """I(f; z_1:T) under the batch's aggregate posterior, by minibatch-weighted sampling (nats).

    With q(f) = 1/B sum_j q(f | x_j), q(z) = 1/B sum_j q(z_1:T | x_j) and q(f, z) = 1/B sum_j
    q(f | x_j) q(z_1:T | x_j), evaluated at the samples (f_i, z_i) of the same batch:

        I_hat = mean_i [log q(f_i, z_i) - log q(f_i) - log q(z_i)],   0 for identical posteriors,
                                                                      log B for well-separated ones.
    Args:
        f: (B, F) samples of q(f | x_i).
        z: (B, T, Z) samples of q(z_1:T | x_i).
        post: the posteriors the samples came from (f_mean, f_logstd (B, F); z_mean, z_logstd (B, T, Z)).
    Returns:
        scalar.
    """
    # float64: the log-densities run to -1e4 and more, and I_hat is a difference of them (B^2 T Z values: cheap)
    f, z = f.double(), z.double()
    # [i, j]: log q(sample i | x_j), summed over dimensions (and frames)
    log_qf = gaussian_log_prob(post.f_mean[None].double(), post.f_logstd[None].double(), f[:, None])  # (B, B, F)
    log_qz = gaussian_log_prob(post.z_mean[None].double(), post.z_logstd[None].double(), z[:, None])  # (B, B, T, Z)
    log_qf, log_qz = log_qf.sum(-1), log_qz.flatten(2).sum(-1)  # (B, B), (B, B)
    joint = torch.logsumexp(log_qf + log_qz, dim=1)  # (B,) log q(f_i, z_i) + log B
    marginals = torch.logsumexp(log_qf, dim=1) + torch.logsumexp(log_qz, dim=1)  # (B,) + 2 log B
    return ((joint - marginals).mean() + math.log(f.shape[0])).float()


def _gen_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")
