"""The prior network against an independent computation of the design note's equations."""

from __future__ import annotations

import pytest
import torch

from dsvae.model.prior import ImprovedPrior, LSTMPrior, build_prior


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    return 1 / (1 + torch.exp(-x))


def lstm_equations(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """The LSTM cell equations (gates i, f, g, o in PyTorch's weight order), written out."""
    gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, g, o = gates.chunk(4, -1)
    c_new = sigmoid(f) * c + sigmoid(i) * torch.tanh(g)
    return sigmoid(o) * torch.tanh(c_new), c_new


def note_step(prior: ImprovedPrior, z, h, c):
    """One step of the note: MLP1-3 (tanh), LSTM cell (phi input, h_hat, c_hat state), MLP4."""
    W1, b1 = prior.mlp1.weight, prior.mlp1.bias
    W2, b2 = prior.mlp2.weight, prior.mlp2.bias
    W3, b3 = prior.mlp3.weight, prior.mlp3.bias
    c_hat = torch.tanh(torch.cat([z, c], -1) @ W1.T + b1)
    phi = torch.tanh(z @ W2.T + b2)
    h_hat = torch.tanh(torch.cat([z, h], -1) @ W3.T + b3)
    cell = prior.cell
    h_new, c_new = lstm_equations(phi, h_hat, c_hat, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    W4a, b4a = prior.mlp4[0].weight, prior.mlp4[0].bias
    W4b, b4b = prior.mlp4[2].weight, prior.mlp4[2].bias
    out = torch.tanh(h_new @ W4a.T + b4a) @ W4b.T + b4b
    Z = z.shape[-1]
    return out[:, :Z], out[:, Z:], h_new, c_new


def test_improved_step_equals_note_equations() -> None:
    Z, Hd, B = 5, 7, 3
    prior = ImprovedPrior(Z, Hd).double()
    z, h, c = torch.randn(B, Z).double(), torch.randn(B, Hd).double(), torch.randn(B, Hd).double()
    got = prior.step(z, h, c)
    want = note_step(prior, z, h, c)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)


def test_sequence_parameters_follow_posterior_samples_from_zero_state() -> None:
    """forward(z) computes step t's parameters from z_<t, starting at z_0 = h_0 = c_0 = 0."""
    Z, Hd, B, T = 3, 6, 2, 5
    prior = ImprovedPrior(Z, Hd).double()
    z = torch.randn(B, T, Z).double()
    mu, log_sigma = prior(z)
    assert mu.shape == log_sigma.shape == (B, T, Z)
    zp, h, c = torch.zeros(B, Z).double(), torch.zeros(B, Hd).double(), torch.zeros(B, Hd).double()
    for t in range(T):
        m, s, h, c = note_step(prior, zp, h, c)
        torch.testing.assert_close(mu[:, t], m)
        torch.testing.assert_close(log_sigma[:, t], s)
        zp = z[:, t]


def test_plain_lstm_prior_feeds_z_to_the_cell() -> None:
    Z, Hd, B = 4, 6, 2
    prior = LSTMPrior(Z, Hd).double()
    z, h, c = torch.randn(B, Z).double(), torch.randn(B, Hd).double(), torch.randn(B, Hd).double()
    mu, _, h_new, c_new = prior.step(z, h, c)
    cell = prior.cell
    want_h, want_c = lstm_equations(z, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    torch.testing.assert_close(h_new, want_h)
    torch.testing.assert_close(c_new, want_c)
    assert mu.shape == (B, Z)


@pytest.mark.parametrize("kind", ["improved", "lstm"])
def test_rollout_shapes_prefix_and_reproducibility(kind: str) -> None:
    prior = build_prior(kind, 4, 8)
    z = prior.rollout(3, 6, generator=torch.Generator().manual_seed(1))
    again = prior.rollout(3, 6, generator=torch.Generator().manual_seed(1))
    assert z.shape == (3, 6, 4)
    torch.testing.assert_close(z, again)
    prefix = torch.randn(3, 2, 4)
    cont = prior.rollout(3, 6, z_prefix=prefix, sample=False)
    torch.testing.assert_close(cont[:, :2], prefix)
    # with sample=False the continuation is the prior mean given the prefix
    mu, _ = prior(cont)
    torch.testing.assert_close(cont[:, 2:], mu[:, 2:])
