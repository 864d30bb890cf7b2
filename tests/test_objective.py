"""Closed-form KLs and likelihoods against independent computations."""

from __future__ import annotations

import math

import torch

from dsvae.objective import bernoulli_log_prob, gaussian_kl, gaussian_log_prob, standard_normal_kl


def test_gaussian_kl_matches_monte_carlo() -> None:
    g = torch.Generator().manual_seed(0)
    mu_q, ls_q = torch.tensor([0.3, -1.0, 2.0]), torch.tensor([-0.5, 0.2, 0.0])
    mu_p, ls_p = torch.tensor([0.0, 0.5, 1.0]), torch.tensor([0.1, -0.3, 0.4])
    n = 400_000
    x = mu_q + ls_q.exp() * torch.randn(n, 3, generator=g, dtype=torch.float64)
    log_q = -0.5 * ((x - mu_q) / ls_q.exp()) ** 2 - ls_q - 0.5 * math.log(2 * math.pi)
    log_p = -0.5 * ((x - mu_p) / ls_p.exp()) ** 2 - ls_p - 0.5 * math.log(2 * math.pi)
    mc = (log_q - log_p).mean(0)
    stderr = (log_q - log_p).std(0) / math.sqrt(n)
    analytic = gaussian_kl(mu_q, ls_q, mu_p, ls_p).double()
    # within 5 standard errors of the Monte-Carlo estimate (about 0.005 nats here)
    assert torch.all((mc - analytic).abs() < 5 * stderr), (mc, analytic, stderr)


def test_kl_of_a_distribution_with_itself_is_zero() -> None:
    mu, ls = torch.randn(10, 4), torch.randn(10, 4)
    torch.testing.assert_close(gaussian_kl(mu, ls, mu, ls), torch.zeros(10, 4))


def test_standard_normal_kl_is_the_special_case_and_known_value() -> None:
    mu, ls = torch.randn(6, 3), torch.randn(6, 3)
    torch.testing.assert_close(standard_normal_kl(mu, ls), gaussian_kl(mu, ls, torch.zeros(6, 3), torch.zeros(6, 3)))
    # KL(N(1, 1) || N(0, 1)) = 1/2
    assert math.isclose(standard_normal_kl(torch.tensor(1.0), torch.tensor(0.0)).item(), 0.5, rel_tol=1e-6)


def test_likelihoods_equal_their_formulas() -> None:
    logits, x = torch.randn(5, 7), torch.rand(5, 7)
    p = torch.sigmoid(logits)
    torch.testing.assert_close(bernoulli_log_prob(logits, x), x * p.log() + (1 - x) * (1 - p).log())
    mean, ls = torch.randn(5, 7), torch.randn(7)
    want = torch.distributions.Normal(mean, ls.exp()).log_prob(x)
    torch.testing.assert_close(gaussian_log_prob(mean, ls, x), want)
