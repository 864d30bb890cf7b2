"""The objective: the design note's ELBO in its LOTUS form, as plain functions.

For f ~ q(f | x) and z_t ~ q(z_t | ...), with the prior parameters at step t computed by the
prior network from the posterior samples z_<t:

    L = sum_t E[log p(x_t | f, z_t)] - KL(q(f | x) || N(0, I))
        - sum_t KL(q(z_t | ...) || N(mu_t, sigma_t^2))

Given the prior parameters, each z-term is a KL between diagonal Gaussians, taken in closed
form. Every term is per sequence (summed over frames and dimensions), then averaged over the
batch, so ``loss`` is the negative ELBO per sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu_q: Tensor, logstd_q: Tensor, mu_p: Tensor, logstd_p: Tensor) -> Tensor:
    """Elementwise KL(N(mu_q, s_q^2) || N(mu_p, s_p^2)) in nats."""
    var_ratio = torch.exp(2 * (logstd_q - logstd_p))
    mahal = ((mu_q - mu_p) * torch.exp(-logstd_p)) ** 2
    return 0.5 * (var_ratio + mahal - 1) - (logstd_q - logstd_p)


def standard_normal_kl(mu: Tensor, logstd: Tensor) -> Tensor:
    """Elementwise KL(N(mu, s^2) || N(0, 1))."""
    return 0.5 * (torch.exp(2 * logstd) + mu**2 - 1) - logstd


def bernoulli_log_prob(logits: Tensor, x: Tensor) -> Tensor:
    """Elementwise log p(x | logits) for x in [0, 1] (the continuous relaxation used for images)."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none")


def gaussian_log_prob(mean: Tensor, log_scale: Tensor, x: Tensor) -> Tensor:
    """Elementwise log N(x; mean, exp(log_scale)^2)."""
    return -0.5 * (((x - mean) * torch.exp(-log_scale)) ** 2 + LOG_2PI) - log_scale


@dataclass(frozen=True)
class KLWeights:
    """Weights on the two KL terms: training choices (1, 1 is the ELBO), not part of the model."""

    f: float = 1.0  # on KL(q(f | x) || p(f))
    z: float = 1.0  # on sum_t KL(q(z_t | .) || p(z_t | h_t))

    def scaled(self, factor: float) -> KLWeights:
        """Both weights times ``factor`` (the KL warm-up)."""
        return KLWeights(self.f * factor, self.z * factor)


ELBO = KLWeights()


class PosteriorParams(Protocol):
    @property
    def f_mean(self) -> Tensor: ...  # (B, F)
    @property
    def f_logstd(self) -> Tensor: ...  # (B, F)
    @property
    def z_mean(self) -> Tensor: ...  # (B, T, Z)
    @property
    def z_logstd(self) -> Tensor: ...  # (B, T, Z)


class ModelOutput(Protocol):
    """What the objective reads from a forward pass (:class:`dsvae.model.DSVAEOutput` has it)."""

    @property
    def posterior(self) -> PosteriorParams: ...  # q(f | x), q(z_t | .)
    @property
    def prior_mu(self) -> Tensor: ...  # (B, T, Z) p(z_t | h_t) from the posterior samples z_<t
    @property
    def prior_logstd(self) -> Tensor: ...  # (B, T, Z)
    @property
    def x_out(self) -> Tensor: ...  # (B, T, *frame) decoder logits (Bernoulli) or means (Gaussian)
    @property
    def log_scale(self) -> Tensor | None: ...  # Gaussian log std broadcastable to x; None for Bernoulli


@dataclass
class ElboTerms:
    """Named terms, each a scalar averaged over the batch (nats per sequence)."""

    loss: Tensor  # recon + w_f * kl_f + w_z * kl_z: what training minimises
    elbo: Tensor  # -(recon + kl_f + kl_z): the unweighted bound
    recon: Tensor  # -sum_t log p(x_t | f, z_t)
    kl_f: Tensor  # KL(q(f | x) || p(f))
    kl_z: Tensor  # sum_t KL(q(z_t | .) || p(z_t | h_t))

    def as_dict(self) -> dict[str, Tensor]:
        return {"loss": self.loss, "elbo": self.elbo, "recon": self.recon, "kl_f": self.kl_f, "kl_z": self.kl_z}


def elbo_terms(out: ModelOutput, x: Tensor, weights: KLWeights = ELBO) -> ElboTerms:
    """The negative ELBO of a forward pass and its terms.

    Args:
        out: the model's forward pass on ``x``.
        x: data (B, T, *frame).
        weights: weights on the KL terms (the default, 1 and 1, is the ELBO).
    """
    post = out.posterior
    if out.log_scale is None:
        log_px = bernoulli_log_prob(out.x_out, x)
    else:
        log_px = gaussian_log_prob(out.x_out, out.log_scale, x)
    recon = -log_px.flatten(1).sum(1).mean()
    kl_f = standard_normal_kl(post.f_mean, post.f_logstd).sum(1).mean()
    kl_z = gaussian_kl(post.z_mean, post.z_logstd, out.prior_mu, out.prior_logstd).flatten(1).sum(1).mean()
    loss = recon + weights.f * kl_f + weights.z * kl_z
    return ElboTerms(loss=loss, elbo=-(recon + kl_f + kl_z), recon=recon, kl_f=kl_f, kl_z=kl_z)
