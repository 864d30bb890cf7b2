"""C-DSVAE's terms: InfoNCE and the I(f; z) estimate in closed form, the augmentations and their seeds, the config."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

from dsvae.config import apply_overrides
from dsvae.contrastive import (
    MIN_CONTRAST,
    info_nce,
    jitter_colours,
    mutual_information_estimate,
    mws_mutual_information,
    shuffle_frames,
)
from dsvae.errors import DSVAEError
from dsvae.model.encoder import Posterior
from dsvae.run_config import RunConfig, TrainConfig
from dsvae.train.distributed import AUGMENT_STREAM, noise_seed


def generator(seed: int = 0, rank: int = 0, step: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(noise_seed(seed, rank, step, AUGMENT_STREAM))


# -- InfoNCE -----------------------------------------------------------------------------------


@pytest.mark.parametrize("tau", [1.0, 0.5])
def test_info_nce_of_identical_orthogonal_embeddings_is_the_closed_form(tau: float) -> None:
    e = torch.eye(4)  # a_i = b_i, cos(a_i, b_j) = [i == j]
    want = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 3 * math.exp(0)))  # tau=1: 0.7437
    assert info_nce(e, e, tau).item() == pytest.approx(want, rel=1e-6)
    # cosine similarity: the lengths of the embeddings do not matter
    assert info_nce(3 * e, 0.2 * e, tau).item() == pytest.approx(want, rel=1e-6)


def test_info_nce_of_all_equal_embeddings_is_log_b_and_estimates_no_information() -> None:
    a = torch.tensor([[0.3, -1.0, 2.0]]).repeat(5, 1)
    nce = info_nce(a, a, 0.5)
    assert nce.item() == pytest.approx(math.log(5), rel=1e-6)
    assert mutual_information_estimate(nce, 5).item() == pytest.approx(0.0, abs=1e-6)


def test_info_nce_is_low_for_matched_pairs_and_high_for_mismatched_ones() -> None:
    a = torch.randn(8, 16)
    matched = info_nce(a, a + 0.01 * torch.randn(8, 16), 0.1)
    mismatched = info_nce(a, a.roll(1, dims=0), 0.1)
    assert matched.item() < 0.1 < math.log(8) < mismatched.item()


# -- I(f; z_1:T) by minibatch-weighted sampling ----------------------------------------------


def posteriors(f_mean: torch.Tensor, z_mean: torch.Tensor, log_std: float) -> Posterior:
    return Posterior(f_mean, torch.full_like(f_mean, log_std), z_mean, torch.full_like(z_mean, log_std))


def test_mws_mutual_information_is_zero_for_identical_posteriors() -> None:
    B, T = 6, 3
    post = posteriors(torch.randn(1, 4).repeat(B, 1), torch.randn(1, T, 2).repeat(B, 1, 1), 0.0)
    f, z = torch.randn(B, 4), torch.randn(B, T, 2)  # any samples: every posterior explains them equally
    assert mws_mutual_information(f, z, post).item() == pytest.approx(0.0, abs=1e-5)


def test_mws_mutual_information_is_log_b_for_well_separated_posteriors() -> None:
    B, T = 5, 3
    post = posteriors(10 * torch.eye(B), 10 * torch.eye(B)[:, None, :].repeat(1, T, 1), math.log(0.01))
    # each sample at its own posterior's mean: q(f_i | x_j) vanishes for j != i
    assert mws_mutual_information(post.f_mean, post.z_mean, post).item() == pytest.approx(math.log(B), abs=1e-5)


def test_mws_mutual_information_is_zero_when_z_tells_nothing_of_the_sequence() -> None:
    B, T = 6, 3
    post = posteriors(10 * torch.eye(B), torch.randn(1, T, 2).repeat(B, 1, 1), math.log(0.01))
    # f identifies its sequence, every q(z | x_j) is the same: f and z are independent in the mixture
    z = torch.randn(B, T, 2)
    assert mws_mutual_information(post.f_mean, z, post).item() == pytest.approx(0.0, abs=1e-4)


# -- the augmentations --------------------------------------------------------------------------


def test_shuffle_frames_keeps_each_sequences_frames_and_changes_their_order() -> None:
    x = torch.rand(6, 5, 3, 4, 4)  # (B, T, C, H, W), every frame distinct
    y = shuffle_frames(x, generator())
    assert y.shape == x.shape
    changed = 0
    for i in range(x.shape[0]):
        # frame t of the view is frame order[t] of the original: the same multiset of frames
        match = (y[i].flatten(1)[:, None, :] == x[i].flatten(1)[None, :, :]).all(-1)  # (T, T)
        assert match.sum(1).eq(1).all(), "every frame of the view is one frame of its own sequence"
        order = match.float().argmax(1)
        assert sorted(order.tolist()) == list(range(x.shape[1])), "each frame used once"
        changed += order.tolist() != list(range(x.shape[1]))
    assert changed >= 5  # the identity order has probability 1/120 per sequence


def test_jitter_colours_is_one_colour_transform_for_every_frame_of_a_sequence() -> None:
    x = torch.rand(4, 6, 3, 5, 5)
    y = jitter_colours(x, generator())
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    assert (y - x).abs().max() > 0.05  # the pixels change
    B, T, C = x.shape[:3]
    for i in range(B):
        sources = []
        for c in range(C):
            # y[i, :, c] = a * x[i, :, p] + b for one source channel p and one (a, b) for all frames
            fits = []
            for p in range(C):
                design = torch.stack([x[i, :, p].flatten(), torch.ones(T * 25)], 1).double()
                sol = torch.linalg.lstsq(design, y[i, :, c].flatten().double()[:, None]).solution
                fits.append(((design @ sol).squeeze(1) - y[i, :, c].flatten()).abs().max().item())
            p = int(np.argmin(fits))
            assert fits[p] < 1e-5, fits
            sources.append(p)
            # so frame differences keep their pattern, scaled by the contrast a
            dx, dy = x[i, 1:, p] - x[i, :-1, p], y[i, 1:, c] - y[i, :-1, c]
            a = (dy.flatten() @ dx.flatten() / (dx.flatten() @ dx.flatten())).item()
            assert MIN_CONTRAST - 1e-6 <= a <= 1 + 1e-6
            torch.testing.assert_close(dy, a * dx, atol=1e-5, rtol=0)
        assert sorted(sources) == list(range(C)), "the channels are permuted, not mixed"


def test_jitter_colours_of_vector_frames_is_a_gain_and_offset_per_feature() -> None:
    x = torch.randn(3, 7, 5)  # (B, T, V) unbounded features
    y = jitter_colours(x, generator(), bounded=False)
    assert y.shape == x.shape and not torch.allclose(x, y)
    dx, dy = x[:, 1:] - x[:, :-1], y[:, 1:] - y[:, :-1]
    gain = dy[:, :1] / dx[:, :1]  # (B, 1, V): the same gain at every frame
    torch.testing.assert_close(dy, gain * dx, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("augment", [shuffle_frames, jitter_colours])
def test_augmentations_repeat_with_the_same_seed_and_differ_by_rank_and_step(
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
) -> None:
    x = torch.rand(4, 6, 3, 4, 4)
    again = augment(x, generator(seed=7, rank=1, step=3))
    assert torch.equal(augment(x, generator(seed=7, rank=1, step=3)), again)
    assert not torch.equal(augment(x, generator(seed=7, rank=0, step=3)), again)
    assert not torch.equal(augment(x, generator(seed=7, rank=1, step=4)), again)


def test_the_augmentation_stream_is_its_own_and_leaves_the_noise_seed_as_it_was() -> None:
    # stream 0 is the seed of the versions before streams: resumed old runs draw the same noise
    assert noise_seed(3, 1, 7) == int(np.random.SeedSequence([3, 1, 7]).generate_state(1, np.uint64)[0])
    assert noise_seed(3, 1, 7, AUGMENT_STREAM) != noise_seed(3, 1, 7)


# -- the config ---------------------------------------------------------------------------------


def test_the_contrastive_terms_are_off_by_default() -> None:
    cfg = TrainConfig()
    assert (cfg.contrastive_f_weight, cfg.contrastive_z_weight) == (0.0, 0.0) and not cfg.contrastive
    assert cfg.mi_fz_weight == 0.0
    assert apply_overrides(RunConfig(), ["train.contrastive_z_weight=0.5"]).train.contrastive
    assert apply_overrides(RunConfig(), ["train.mi_fz_weight=0.5"]).train.contrastive


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("contrastive_f_weight", -1.0, r"^train\.contrastive_f_weight must be >= 0, got -1\.0$"),
        ("contrastive_z_weight", -0.1, r"^train\.contrastive_z_weight must be >= 0, got -0\.1$"),
        ("mi_fz_weight", -2.0, r"^train\.mi_fz_weight must be >= 0, got -2\.0$"),
        ("contrastive_temperature", 0.0, r"^train\.contrastive_temperature must be > 0, got 0\.0$"),
        ("contrastive_temperature", -0.5, r"^train\.contrastive_temperature must be > 0, got -0\.5$"),
        ("contrastive_temperature", math.nan, r"^train\.contrastive_temperature must be a finite number"),
    ],
)
def test_bad_contrastive_settings_are_refused_by_name(field: str, value: float, message: str) -> None:
    with pytest.raises(DSVAEError, match=message):
        TrainConfig(**{field: value})


def test_an_unknown_contrastive_key_is_refused_by_name() -> None:
    with pytest.raises(DSVAEError, match=r"train\.contrastive_weight"):
        apply_overrides(RunConfig(), ["train.contrastive_weight=1"])
