"""The Disentangled Sequential Autoencoder.

Y. Li and S. Mandt, "Disentangled Sequential Autoencoder", ICML 2018 (arXiv:1803.02991), with
the improved, more stable prior network of the design note (``000_c39da3c9d806aeaa.txt``;
DESIGN.md §1). A sequence x_1:T is explained by a static latent f ~ N(0, I) (content) and
dynamic latents z_1:T from a learned recurrent prior (motion):

    p(x_1:T, z_1:T, f) = p(f) prod_t p(z_t | h_t) p(x_t | z_t, f)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from dsvae.config import DSVAEConfig, from_dict, to_dict
from dsvae.errors import DSVAEError
from dsvae.model.decoder import Decoder
from dsvae.model.encoder import Encoder, Posterior
from dsvae.model.prior import build_prior
from dsvae.objective import elbo_terms
from dsvae.pretrained import load_weights, read_config, save_module
from dsvae.run_folder import Checkpoint, model_folder

KIND = "dsvae"


@dataclass
class DSVAEOutput:
    """What :meth:`DSVAE.forward` computes: the posterior, its samples, the prior, the decoder output.

    The objective turns it into terms: ``objective.elbo_terms(out, x, weights)``. ``out.terms`` and
    ``out.loss`` are that call with the ELBO's unit weights, for use outside training.
    """

    x: Tensor  # (B, T, *frame) the input, kept (not copied) for the terms below
    posterior: Posterior  # q(f | x), q(z_t | .)
    f: Tensor  # (B, F) the sample of f used
    z: Tensor  # (B, T, Z) the samples of z used
    prior_mu: Tensor  # (B, T, Z) p(z_t | h_t) computed from z_<t
    prior_logstd: Tensor  # (B, T, Z)
    x_out: Tensor  # (B, T, *frame) decoder logits (Bernoulli) or means (Gaussian)
    log_scale: Tensor | None  # the Gaussian decoder's log std, broadcastable to x; None for Bernoulli

    @functools.cached_property
    def terms(self) -> dict[str, Tensor]:
        """loss, elbo, recon, kl_f, kl_z (scalars, nats per sequence) with KL weights 1: the plain ELBO."""
        return elbo_terms(self, self.x).as_dict()

    @property
    def loss(self) -> Tensor:
        """Scalar: the negative ELBO per sequence, batch mean (what to minimise without KL weights)."""
        return self.terms["loss"]


class DSVAE(nn.Module):
    """Encoder q(f, z | x), prior p(z_1:T), decoder p(x_t | z_t, f).

    Example:
        >>> model = DSVAE(DSVAEConfig(n_channels=32, dim_hidden=128))
        >>> out = model(torch.rand(4, 8, 3, 64, 64))
        >>> out.loss.backward()
    """

    def __init__(self, config: DSVAEConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or DSVAEConfig()
        self.encoder = Encoder(cfg)
        self.prior = build_prior(cfg.prior, cfg.dim_z, cfg.dim_h)
        self.decoder = Decoder(cfg)
        # one min/max reduction per call; the Trainer turns it off (its data folder is checked when opened)
        self.check_values = True

    # -- the model -------------------------------------------------------------------------

    def _dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def check_input(self, x: Tensor) -> None:
        """Raise a clear :class:`DSVAEError` unless x is (B, T, *frame_shape), B, T >= 1, of the weights' dtype,
        finite, and in [0, 1] for a Bernoulli model."""
        expect = self.config.frame_shape
        if not isinstance(x, Tensor):
            raise DSVAEError(f"expected a torch.Tensor of frames, got {type(x).__name__}")
        dtype = self._dtype()
        if not x.is_floating_point():
            raise DSVAEError(f"frames must be a {dtype} tensor in [0, 1], got dtype {x.dtype}; divide uint8 by 255")
        if x.dtype != dtype:
            raise DSVAEError(f"frames must be {dtype} like the model's weights, got {x.dtype}; use x.to({dtype})")
        if x.dim() != 2 + len(expect) or tuple(x.shape[2:]) != expect:
            legend = "(B, T, C, H, W)" if len(expect) == 3 else "(B, T, V)"
            raise DSVAEError(
                f"frames must have shape {legend} with frame shape {expect} for this model, got {tuple(x.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise DSVAEError(f"frames must hold at least one sequence of one frame or more, got {tuple(x.shape)}")
        if self.check_values:
            self._check_values(x, "frames", bounded=self.config.likelihood == "bernoulli")

    @staticmethod
    def _check_values(x: Tensor, what: str, bounded: bool) -> None:
        lo, hi = (v.item() for v in torch.aminmax(x.detach()))  # NaN propagates into both
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise DSVAEError(f"{what} must be finite, got values from {lo} to {hi} (NaN or inf); clean the input first")
        if bounded and (lo < 0 or hi > 1):
            hint = "; divide 0-255 images by 255" if hi > 1 and hi <= 255 else ""
            raise DSVAEError(f"frames must lie in [0, 1] for a Bernoulli model, got values from {lo:g} to {hi:g}{hint}")

    def forward(self, x: Tensor) -> DSVAEOutput:
        """One pass of the model with reparameterised samples of f and z.

        Args:
            x: (B, T, C, H, W) in [0, 1], or (B, T, V) for vector frames.
        Returns:
            :class:`DSVAEOutput`; ``objective.elbo_terms(out, x, weights)`` gives the loss to minimise.
        """
        self.check_input(x)
        post, f, z = self.encoder(x, sample=True)  # (B, F), (B, T, Z)
        prior_mu, prior_logstd = self.prior(z)  # (B, T, Z) from posterior samples z_<t (LOTUS)
        x_out = self.decoder(f, z)  # (B, T, *frame)
        return DSVAEOutput(x, post, f, z, prior_mu, prior_logstd, x_out, self.decoder.frame_log_scale())

    # -- the public API (DESIGN.md §2) -----------------------------------------------------

    def encode(self, x: Tensor) -> Posterior:
        """x (B, T, *frame) -> posterior parameters (f_mean (B, F), z_mean (B, T, Z), log stds).

        For the full-q encoder, q(z | x, f) is evaluated at f = f_mean.
        """
        self.check_input(x)
        post, _, _ = self.encoder(x, sample=False)
        return post

    def decode(self, f: Tensor, z: Tensor) -> Tensor:
        """f (B, F), z (B, T, Z) -> the likelihood's mean (B, T, *frame), in [0, 1] for Bernoulli."""
        for name, t in (("f", f), ("z", z)):
            if not isinstance(t, Tensor):
                raise DSVAEError(f"decode needs {name} as a torch.Tensor, got {type(t).__name__}")
            if t.dtype != self._dtype():
                raise DSVAEError(f"decode needs {name} as {self._dtype()} like the model's weights, got {t.dtype}")
        if f.dim() != 2 or z.dim() != 3 or f.shape[0] != z.shape[0]:
            raise DSVAEError(
                f"decode needs f (B, F) and z (B, T, Z) with the same B; got {tuple(f.shape)}, {tuple(z.shape)}"
            )
        if f.shape[1] != self.config.dim_f or z.shape[2] != self.config.dim_z:
            raise DSVAEError(
                f"decode needs F={self.config.dim_f}, Z={self.config.dim_z}; got f {tuple(f.shape)}, z {tuple(z.shape)}"
            )
        if f.shape[0] == 0 or z.shape[1] == 0:
            raise DSVAEError(f"decode needs B >= 1 and T >= 1; got f {tuple(f.shape)}, z {tuple(z.shape)}")
        if self.check_values:
            self._check_values(f, "f", bounded=False)
            self._check_values(z, "z", bounded=False)
        return self.decoder.mean(self.decoder(f, z))

    def sample_f(self, batch_size: int, generator: torch.Generator | None = None) -> Tensor:
        """f ~ p(f) = N(0, I), (B, F)."""
        p = next(self.parameters())
        return torch.randn(batch_size, self.config.dim_f, device=p.device, dtype=p.dtype, generator=generator)

    def sample_z(
        self, batch_size: int, n_frames: int | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """A rollout of the learned prior, z_t ~ p(z_t | h_t): (B, T, Z)."""
        return self.prior.rollout(batch_size, n_frames or self.config.n_frames, generator=generator)

    @torch.no_grad()
    def generate(
        self,
        f: Tensor | None = None,
        z: Tensor | None = None,
        batch_size: int | None = None,
        n_frames: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Decode (f, z), drawing whichever is not given from its prior: (B, T, *frame)."""
        if batch_size is None:
            batch_size = f.shape[0] if f is not None else z.shape[0] if z is not None else 1
        if f is None:
            f = self.sample_f(batch_size, generator)
        if z is None:
            z = self.sample_z(batch_size, n_frames, generator)
        return self.decode(f, z)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Decode the posterior means: (B, T, *frame)."""
        post = self.encode(x)
        return self.decode(post.f_mean, post.z_mean)

    @torch.no_grad()
    def swap(self, x_content: Tensor, x_motion: Tensor) -> Tensor:
        """Content (f) of ``x_content`` with the dynamics (z_1:T) of ``x_motion``: (B, T, *frame)."""
        a, b = self.encode(x_content), self.encode(x_motion)
        return self.decode(a.f_mean, b.z_mean)

    @torch.no_grad()
    def predict(self, x_prefix: Tensor, n_frames: int, sample: bool = False) -> Tensor:
        """Future prediction: encode the given k frames, roll the prior forward to ``n_frames``.

        Args:
            x_prefix: (B, k, *frame) observed frames.
            n_frames: total length T >= k of the returned sequence.
            sample: draw future z_t; by default take the prior's means.
        Returns:
            (B, T, *frame): reconstructions of the k frames followed by predictions.
        """
        post = self.encode(x_prefix)
        z = self.prior.rollout(x_prefix.shape[0], n_frames, z_prefix=post.z_mean, sample=sample)
        return self.decode(post.f_mean, z)

    # -- saving and loading ----------------------------------------------------------------

    def save_pretrained(self, path: str | Path) -> None:
        """Write ``config.json`` and ``model.safetensors`` under ``path`` (atomic per file)."""
        save_module(path, KIND, to_dict(self.config), self)

    @classmethod
    def from_pretrained(
        cls, path: str | Path, map_location: str | torch.device = "cpu", checkpoint: Checkpoint = "best"
    ) -> DSVAE:
        """Load a folder written by :meth:`save_pretrained`, or a run folder (its ``checkpoint``: best,
        falling back to latest, or latest), in eval mode; never unpickles."""
        try:
            device = torch.device(map_location)
        except (RuntimeError, TypeError) as exc:
            raise DSVAEError(f"map_location {map_location!r} is not a device; use 'cpu' or 'cuda'") from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise DSVAEError(f"cannot load onto {device}: no CUDA device is available; use map_location='cpu'")
        path = model_folder(path, checkpoint)
        cfg = from_dict(DSVAEConfig, read_config(path, KIND), where="model")
        model = cls(cfg)
        load_weights(path, model)
        return model.to(device).eval()

    def num_parameters(self) -> dict[str, int]:
        """Parameter counts per part: encoder, prior, decoder, total."""
        parts = ("encoder", "prior", "decoder")
        counts = {name: sum(p.numel() for p in getattr(self, name).parameters()) for name in parts}
        counts["total"] = sum(counts.values())
        return counts
