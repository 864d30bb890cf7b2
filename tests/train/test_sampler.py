"""Batches: deterministic, resumable, and split over processes like one big batch."""

from __future__ import annotations

import pytest

from dsvae.run_config import TrainConfig
from dsvae.schedule import kl_scale, kl_weights, learning_rate
from dsvae.train.sampler import StepBatchSampler


def test_two_ranks_see_exactly_the_single_process_batch() -> None:
    single = list(StepBatchSampler(50, 8, seed=3, epoch=2))
    r0 = list(StepBatchSampler(50, 4, seed=3, epoch=2, rank=0, world_size=2))
    r1 = list(StepBatchSampler(50, 4, seed=3, epoch=2, rank=1, world_size=2))
    assert len(single) == len(r0) == len(r1) == 50 // 8
    for s, a, b in zip(single, r0, r1, strict=True):
        assert sorted(a + b) == sorted(s) and not set(a) & set(b)


def test_resuming_mid_epoch_gives_the_remaining_batches() -> None:
    full = list(StepBatchSampler(40, 4, seed=0, epoch=1))
    assert list(StepBatchSampler(40, 4, seed=0, epoch=1, start=3)) == full[3:]
    assert full != list(StepBatchSampler(40, 4, seed=0, epoch=2))  # a new order each epoch
    seen = [i for b in full for i in b]
    assert sorted(seen) == list(range(40))


def test_schedules() -> None:
    cfg = TrainConfig(lr=1.0, warmup_steps=10, max_steps=110, min_lr_ratio=0.1, schedule="cosine", kl_warmup_steps=4)
    assert learning_rate(0, cfg) == 0.1 and learning_rate(9, cfg) == 1.0
    assert abs(learning_rate(60, cfg) - 0.55) < 1e-12  # half-way down the cosine: (1 + 0.1) / 2
    assert abs(learning_rate(110, cfg) - 0.1) < 1e-12
    assert [kl_scale(s, cfg) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]


def test_kl_schedule_holds_the_start_weights_then_moves_linearly_to_the_weights() -> None:
    cfg = TrainConfig(kl_z_start=10.0, kl_f_start=0.5, kl_hold_steps=3, kl_anneal_steps=4, kl_z_weight=2.0)
    got = [v for w in (kl_weights(s, cfg) for s in range(9)) for v in (w.f, w.z)]
    want = [0.5, 10.0] * 4 + [0.625, 8.0, 0.75, 6.0, 0.875, 4.0, 1.0, 2.0, 1.0, 2.0]
    assert got == pytest.approx(want)
    # an anneal of 0 steps jumps from the start weights to the weights after the hold
    jump = TrainConfig(kl_z_start=5.0, kl_hold_steps=2)
    assert [kl_weights(s, jump).z for s in range(4)] == [5.0, 5.0, 1.0, 1.0]
    # without a schedule the weights are the configured ones, times the warm-up
    plain = TrainConfig(kl_f_weight=3.0, kl_warmup_steps=2)
    assert [(kl_weights(s, plain).f, kl_weights(s, plain).z) for s in range(3)] == [(1.5, 0.5), (3.0, 1.0), (3.0, 1.0)]
