"""The judge's label-preserving corruptions: closed-form cases, partners that share the label, kept labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dsvae.evaluate.augment import (
    AugmentConfig,
    ContentIndex,
    PartnerIndex,
    add_noise,
    augment_batch,
    corrupt_pixels,
    erase_patches,
    gaussian_blur,
    hold_frames,
    mix,
    preserved,
    scale_brightness,
    splice,
)


def test_blur_keeps_a_constant_frame_and_the_mass_of_a_point() -> None:
    flat = torch.full((2, 3, 1, 16, 16), 0.4)
    assert torch.allclose(gaussian_blur(flat, torch.tensor([1.0, 2.0])), flat, atol=1e-6)
    point = torch.zeros(1, 1, 1, 33, 33)
    point[..., 16, 16] = 1.0
    out = gaussian_blur(point, torch.tensor([1.5]))
    assert out.sum().item() == pytest.approx(1.0, abs=1e-5)  # far from the border: nothing lost
    # the blurred point is the separable Gaussian: its row through the centre is exp(-d^2 / (2 sigma^2)), normalised
    d = torch.arange(-5, 6, dtype=torch.float32)
    g = torch.exp(-(d**2) / (2 * 1.5**2))
    g1 = g / g.sum()
    assert torch.allclose(out[0, 0, 0, 16, 11:22], g1 * g1[5], atol=1e-4)
    assert torch.allclose(gaussian_blur(point, torch.tensor([0.0])), point, atol=1e-6)  # sigma 0 leaves the frame


def test_blur_of_vector_frames_smooths_the_feature_axis() -> None:
    x = torch.zeros(1, 2, 21)
    x[:, :, 10] = 1.0
    out = gaussian_blur(x, torch.tensor([1.0]))
    assert out.shape == x.shape and out.sum().item() == pytest.approx(2.0, abs=1e-5)
    assert out[0, 0, 10] < 1.0 and out[0, 0, 9] > 0 and torch.allclose(out[0, 0], out[0, 1])


def test_noise_has_the_asked_spread_and_stays_in_range() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.full((2, 4, 3, 32, 32), 0.5)
    out = add_noise(x, torch.tensor([0.1, 0.0]), gen)
    assert (out - x)[0].std().item() == pytest.approx(0.1, rel=0.05)
    assert torch.equal(out[1], x[1]) and out.min() >= 0 and out.max() <= 1


def test_brightness_and_erasing() -> None:
    x = torch.full((2, 2, 3, 8, 8), 0.5)
    assert torch.allclose(scale_brightness(x, torch.tensor([1.2, 0.5])).flatten(1).mean(1), torch.tensor([0.6, 0.25]))
    erased = erase_patches(x, torch.Generator().manual_seed(1), frames=1.0)
    changed = (erased != x).flatten(2).any(2)  # (B, T): every frame got a patch
    assert changed.all() and set(erased.unique().tolist()) <= {0.0, 0.5}


def test_partners_share_the_label_of_the_chosen_head() -> None:
    rng = np.random.default_rng(0)
    labels = np.stack([rng.integers(3, size=200), rng.integers(5, size=200)], 1)
    index = PartnerIndex(labels)
    rows = np.arange(200)
    heads = rng.integers(2, size=200)
    mates = index.partners(rows, heads, rng)
    assert (labels[mates, heads] == labels[rows, heads]).all()
    assert (mates != rows).mean() > 0.95  # another sequence whenever the class has one


def test_mix_and_the_labels_a_blend_keeps() -> None:
    a, b = torch.zeros(2, 1, 1, 2, 2), torch.ones(2, 1, 1, 2, 2)
    out = mix(a, b, torch.tensor([0.25, 1.0]), composite=torch.tensor([False, False]))
    assert torch.allclose(out[0], torch.full_like(out[0], 0.75)) and torch.equal(out[1], a[1])
    assert torch.equal(mix(a, b, torch.tensor([0.5, 0.5]), torch.tensor([True, True])), b)  # the brighter wins
    keep = preserved(np.array([[0, 1], [0, 1]]), np.array([[0, 2], [1, 2]]), np.array([True, False]))
    assert keep.tolist() == [[True, False], [True, True]]  # a blend keeps the shared label; an unblended row all


def test_augmented_batches_keep_the_chosen_head() -> None:
    rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
    labels = np.stack([np.arange(64) % 4, np.arange(64) % 3], 1)
    pool = torch.rand(64, 3, 3, 8, 8)
    rows = np.arange(16)
    x, keep = augment_batch(pool[rows], rows, pool, PartnerIndex(labels), AugmentConfig(blend=1.0), gen, rng)
    assert x.shape == (16, 3, 3, 8, 8) and x.min() >= 0 and x.max() <= 1
    assert keep.shape == (16, 2) and keep.any(1).all()  # every blend keeps the label its partner shares
    assert not keep.all()  # and some lose another head's label


def test_without_pixels_a_batch_gets_the_mixes_only_and_corrupt_pixels_adds_the_rest() -> None:
    """pixels=False: the same draws as a full call up to the mixes; corrupt_pixels then gives the full call's batch."""
    labels = np.stack([np.arange(64) % 4, np.arange(64) % 3], 1)
    pool = torch.rand(64, 3, 3, 8, 8)
    rows = np.arange(16)
    cfg = AugmentConfig(blend=0.5, blur=1.0, noise=1.0, brightness=0.0, erase=0.0)

    def call(pixels: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Generator]:
        gen = torch.Generator().manual_seed(0)
        x, keep = augment_batch(pool[rows], rows, pool, PartnerIndex(labels), cfg, gen, np.random.default_rng(0),
                                pixels=pixels)  # fmt: skip
        return x, keep, gen

    full, keep_full, _ = call(True)
    mixed, keep_mixed, gen = call(False)
    assert torch.equal(keep_mixed, keep_full)
    blended = ~keep_mixed.all(1)  # a blend that lost a label: that row is a mix of partners
    assert blended.any() and not torch.allclose(mixed[blended], pool[rows][blended])
    torch.testing.assert_close(corrupt_pixels(mixed, cfg, gen), full)
    assert not torch.allclose(mixed, full, atol=1e-3)  # every row was blurred and noised


def test_content_partners_share_every_static_label_and_are_other_sequences() -> None:
    rng = np.random.default_rng(0)
    # columns: a dynamic label, two static ones; 3 x 4 = 12 contents, each with several motions
    labels = np.stack([rng.integers(5, size=300), rng.integers(3, size=300), rng.integers(4, size=300)], 1)
    index = ContentIndex(labels, [False, True, True])
    rows = np.arange(300)
    mates = index.partners(rows, rng)
    assert (labels[mates, 1:] == labels[rows, 1:]).all() and (mates != rows).all()
    alone = ContentIndex(np.array([[0, 1], [1, 2]]), [False, True])  # no other sequence with either content
    assert alone.partners(np.arange(2), rng).tolist() == [0, 1]
    anyone = ContentIndex(np.array([[0], [1], [2]]), [False])  # no static factor: every sequence is a partner
    assert (anyone.partners(np.arange(3), rng) != np.arange(3)).all()


def test_splice_takes_the_later_frames_from_the_partner() -> None:
    a, b = torch.zeros(3, 4, 1, 2, 2), torch.ones(3, 4, 1, 2, 2)
    out = splice(a, b, torch.tensor([1, 3, 4]))
    assert out[:, :, 0, 0, 0].tolist() == [[0, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    vectors = splice(torch.zeros(1, 3, 5), torch.ones(1, 3, 5), torch.tensor([2]))
    assert vectors[0, :, 0].tolist() == [0, 0, 1]


def test_hold_replaces_a_span_by_its_mean_and_leaves_the_rest() -> None:
    x = torch.rand(3, 8, 2, 4, 4)
    out = hold_frames(x, torch.tensor([1, 5, 0]), torch.tensor([3, 3, 0]))
    torch.testing.assert_close(out[0, 1:4], x[0, 1:4].mean(0, keepdim=True).expand(3, -1, -1, -1))
    torch.testing.assert_close(out[0, [0, 4, 5, 6, 7]], x[0, [0, 4, 5, 6, 7]])
    torch.testing.assert_close(out[1, 5:], x[1, 5:].mean(0, keepdim=True).expand(3, -1, -1, -1))
    assert torch.equal(out[2], x[2])  # an empty span leaves the sequence as it was


def test_a_faint_second_motion_comes_from_the_same_content_and_keeps_every_label() -> None:
    """Sequence i is the one-hot vector e_i: the output shows which partner was mixed in, and how much."""
    rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
    n = 60
    labels = np.stack([np.arange(n) % 5, np.arange(n) // 12], 1)  # a motion, and a content shared by 12 rows
    pool = torch.eye(n)[:, None].expand(n, 4, n).clone()  # (N, T, V): vector frames, the same in every frame
    rows = np.arange(0, n, 2)
    cfg = AugmentConfig(blend=0, blur=0, noise=0, brightness=0, erase=0, hold=0, faint=1.0, faint_weight=0.4)
    content = ContentIndex(labels, [False, True])
    x, keep = augment_batch(pool[rows], rows, pool, PartnerIndex(labels), cfg, gen, rng, content=content)
    assert keep.all()  # the same content and the dominant motion: every label holds
    own = x[np.arange(len(rows)), 0, rows]
    assert ((own >= 0.6 - 1e-6) & (own <= 0.9 + 1e-6)).all()  # the sequence itself dominates
    other = x[:, 0].clone()
    other[np.arange(len(rows)), rows] = 0
    mate = other.argmax(1).numpy()
    torch.testing.assert_close(other.sum(1), 1 - own)  # one partner takes the rest
    assert (labels[mate, 1] == labels[rows, 1]).all() and (mate != rows).all()


def test_an_average_character_is_the_mean_of_sequences_of_one_motion_and_keeps_only_its_labels() -> None:
    """Sequence i is the one-hot vector e_i: the output's entries are the weights of the sequences averaged."""
    rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
    n = 90
    labels = np.stack([np.arange(n) % 3, np.arange(n) // 30, np.arange(n) % 7], 1)  # dynamic, dynamic, static
    pool = torch.eye(n)[:, None].expand(n, 4, n).clone()  # (N, T, V), the same in every frame
    rows = np.arange(0, n, 3)
    cfg = AugmentConfig(blend=0, blur=0, noise=0, brightness=0, erase=0, faint=0, average=1.0, average_max=5)
    motion = ContentIndex(labels, [True, True, False])
    x, keep = augment_batch(pool[rows], rows, pool, PartnerIndex(labels), cfg, gen, rng, motion=motion)
    assert keep[:, :2].all() and not keep[:, 2].any()  # the motion's labels hold, the content's do not
    w = x[:, 0]  # (B, N): how much of each training sequence
    torch.testing.assert_close(w.sum(1), torch.ones(len(rows)))  # a mean: the weights sum to one
    size = (1 / w[np.arange(len(rows)), rows]).round()  # the row itself enters once: weight 1/size
    assert ((size >= 2) & (size <= 5)).all() and len(set(size.tolist())) > 1
    used = w > 0
    for i, r in enumerate(rows):  # every sequence in the mean has the row's motion
        assert (labels[used[i].numpy(), :2] == labels[r, :2]).all()
    assert torch.equal(x[:, 0], x[:, 3])  # frame by frame: the same mean of every frame
    unchanged, _ = augment_batch(pool[rows], rows, pool, PartnerIndex(labels), cfg, gen, rng)  # no index: untouched
    assert torch.equal(unchanged, pool[rows])
