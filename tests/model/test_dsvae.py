"""The whole model: shapes over configs, the LOTUS objective, gradients, learning, the API."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from dsvae import DSVAE, DSVAEConfig, DSVAEError
from dsvae.objective import KLWeights, elbo_terms, gaussian_kl
from dsvae.run_config import TrainConfig

VARIANTS = [
    dict(),
    dict(channels=1, image_size=32),
    dict(frame_dim=20, likelihood="gaussian"),
    dict(encoder="full"),
    dict(prior="lstm"),
    dict(f_aggregate="mean"),
    dict(likelihood="gaussian"),
    dict(channels=1, image_size=8, encoder="full", prior="lstm", f_aggregate="mean"),
]


def batch(cfg: DSVAEConfig, B: int = 3) -> torch.Tensor:
    return torch.rand(B, cfg.n_frames, *cfg.frame_shape)


@pytest.mark.parametrize("changes", VARIANTS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_shapes_and_ranges(tiny_config: DSVAEConfig, changes: dict) -> None:
    cfg = dataclasses.replace(tiny_config, **changes)
    model = DSVAE(cfg)
    x = batch(cfg)
    B, T = x.shape[:2]
    out = model(x)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    assert set(out.terms) >= {"recon", "kl_f", "kl_z", "elbo", "loss"}
    assert out.f.shape == (B, cfg.dim_f)  # f has no time axis
    assert out.z.shape == out.prior_mu.shape == (B, T, cfg.dim_z)
    post = model.encode(x)
    assert post.f_mean.shape == post.f_std.shape == (B, cfg.dim_f)
    assert post.z_mean.shape == post.z_std.shape == (B, T, cfg.dim_z)
    x_hat = model.decode(post.f_mean, post.z_mean)
    assert x_hat.shape == x.shape
    if cfg.likelihood == "bernoulli":
        assert x_hat.min() >= 0 and x_hat.max() <= 1
    z = model.sample_z(2, 5)
    assert z.shape == (2, 5, cfg.dim_z)
    assert model.generate(batch_size=2).shape == (2, T, *cfg.frame_shape)
    assert model.generate(f=post.f_mean).shape == x.shape
    assert model.swap(x, x.flip(0)).shape == x.shape
    assert model.predict(x[:, :2], T).shape == x.shape


def test_loss_is_the_sum_of_its_terms(tiny_config: DSVAEConfig) -> None:
    model = DSVAE(tiny_config)
    x = batch(model.config)
    t = elbo_terms(model(x), x, KLWeights(f=0.5, z=2.0)).as_dict()
    torch.testing.assert_close(t["loss"], t["recon"] + 0.5 * t["kl_f"] + 2.0 * t["kl_z"])
    torch.testing.assert_close(t["elbo"], -(t["recon"] + t["kl_f"] + t["kl_z"]))


def test_kl_z_uses_prior_parameters_from_posterior_samples(tiny_config: DSVAEConfig) -> None:
    """The z-term equals KL(q(z_t) || p(z_t | prior_net(z_<t))) with z the posterior sample,
    and changing z_1's posterior changes the prior at t = 2 and the loss."""
    model = DSVAE(tiny_config)
    x = batch(tiny_config, B=2)
    torch.manual_seed(5)
    out = model(x)
    mu, ls = model.prior(out.z)
    torch.testing.assert_close(out.prior_mu, mu)
    post = out.posterior
    want = gaussian_kl(post.z_mean, post.z_logstd, mu, ls).flatten(1).sum(1).mean()
    torch.testing.assert_close(out.terms["kl_z"], want)

    # perturb only frame 1 of the input: q(z_1) changes, so the prior at t=2 and the loss change
    x2 = x.clone()
    x2[:, 0] = torch.rand_like(x2[:, 0])
    torch.manual_seed(5)
    out2 = model(x2)
    assert not torch.allclose(out2.posterior.z_mean[:, 0], post.z_mean[:, 0])
    torch.testing.assert_close(out2.prior_mu[:, 0], out.prior_mu[:, 0])  # p(z_1) is fixed by the zero state
    assert not torch.allclose(out2.prior_mu[:, 1], out.prior_mu[:, 1])
    assert not torch.isclose(out2.terms["kl_z"], out.terms["kl_z"])


@pytest.mark.parametrize("changes", [dict(), dict(encoder="full", likelihood="gaussian", prior="lstm")])
def test_gradients_reach_every_parameter(tiny_config: DSVAEConfig, changes: dict) -> None:
    model = DSVAE(dataclasses.replace(tiny_config, **changes))
    model(batch(model.config)).loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("encoder", ["factorised", "full"])
def test_posterior_init_std_starts_every_posterior_at_that_std(tiny_config: DSVAEConfig, encoder: str) -> None:
    x = batch(tiny_config)
    torch.manual_seed(0)
    default = DSVAE(dataclasses.replace(tiny_config, encoder=encoder)).encode(x)
    torch.manual_seed(0)
    model = DSVAE(dataclasses.replace(tiny_config, encoder=encoder, posterior_init_std=0.05))
    post = model.encode(x)
    assert torch.allclose(post.f_std, torch.full_like(post.f_std, 0.05))
    assert torch.allclose(post.z_std, torch.full_like(post.z_std, 0.05))
    assert not torch.allclose(default.f_std, post.f_std)  # the default init varies the std
    torch.testing.assert_close(post.f_mean, default.f_mean)  # the means keep their init
    # the log-std weights start at zero but still learn
    model(x).loss.backward()
    head = model.encoder.q_f.head.net[-1]
    assert head.weight.grad[tiny_config.dim_f :].abs().sum() > 0


def moving_squares(B: int, T: int, size: int) -> torch.Tensor:
    """B sequences of a coloured 4x4 square moving one pixel a frame: (B, T, 3, size, size)."""
    x = torch.zeros(B, T, 3, size, size)
    for b in range(B):
        colour = torch.tensor([b % 2, (b // 2) % 2, 1.0])
        for t in range(T):
            y, c = 2 + b, 1 + t * (b % 3 + 1)
            x[b, t, :, y : y + 4, c : c + 4] = colour.view(3, 1, 1)
    return x


def test_overfitting_one_batch_lowers_the_loss(tiny_config: DSVAEConfig) -> None:
    model = DSVAE(tiny_config)
    x = moving_squares(4, tiny_config.n_frames, tiny_config.image_size)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch.no_grad():
        start = sum(model(x).loss.item() for _ in range(5)) / 5
    for _ in range(60):
        opt.zero_grad()
        model(x).loss.backward()
        opt.step()
    with torch.no_grad():
        end = sum(model(x).loss.item() for _ in range(5)) / 5
    assert end < 0.5 * start, (start, end)


def test_bad_input_names_the_problem(tiny_config: DSVAEConfig) -> None:
    model = DSVAE(tiny_config)
    with pytest.raises(DSVAEError, match="shape"):
        model(torch.rand(2, 4, 3, 32, 32))
    with pytest.raises(DSVAEError, match="float"):
        model((torch.rand(2, 4, 3, 16, 16) * 255).to(torch.uint8))
    with pytest.raises(DSVAEError, match="F=8"):
        model.decode(torch.zeros(2, 5), torch.zeros(2, 4, 4))


@pytest.mark.parametrize(
    "field,value,words",
    [
        ("image_size", 48, "power of two"),
        ("prior", "gru", "model.prior"),
        ("dim_z", 0, "model.dim_z"),
        ("posterior_init_std", -0.1, "posterior_init_std"),
    ],
)
def test_config_validation_names_the_field(field: str, value: object, words: str) -> None:
    with pytest.raises(DSVAEError, match=words):
        DSVAEConfig(**{field: value})


def test_kl_weight_validation_names_the_field() -> None:
    with pytest.raises(DSVAEError, match="kl_f_weight"):
        TrainConfig(kl_f_weight=-1.0)


def test_note_defaults() -> None:
    cfg = DSVAEConfig()
    assert (cfg.dim_z, cfg.dim_f, cfg.dim_h, cfg.dim_hidden, cfg.n_channels) == (32, 256, 256, 512, 256)
    assert cfg.frame_shape == (3, 64, 64) and cfg.n_frames == 8
    assert (cfg.prior, cfg.encoder, cfg.likelihood) == ("improved", "factorised", "bernoulli")
