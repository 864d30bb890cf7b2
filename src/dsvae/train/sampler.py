"""Deterministic, resumable batches that split the same way on 1 or N processes.

The order of epoch e is a permutation of the training set drawn from (seed, e). The global
batch of step s within the epoch is ``perm[s*G:(s+1)*G]`` with G = batch_size * world_size, and
rank r reads ``global_batch[r::world_size]``: so N processes under DDP see, between them,
exactly the sequences one process sees with an N times larger batch (the same contract as
``torch.utils.data.DistributedSampler``, which shards the epoch the same way), and a resumed
run reads the very batches the interrupted one would have read.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class StepBatchSampler(Sampler[list[int]]):
    """Yields this rank's index lists for one epoch, starting at a given batch."""

    def __init__(
        self, n: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1, start: int = 0
    ) -> None:
        self.n, self.batch_size, self.seed, self.epoch = n, batch_size, seed, epoch
        self.rank, self.world_size, self.start = rank, world_size, start

    @staticmethod
    def batches_per_epoch(n: int, batch_size: int, world_size: int = 1) -> int:
        """Full global batches in an epoch (the last partial one is dropped)."""
        return n // (batch_size * world_size)

    def __len__(self) -> int:
        return self.batches_per_epoch(self.n, self.batch_size, self.world_size) - self.start

    def __iter__(self) -> Iterator[list[int]]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(self.n, generator=g)
        global_batch = self.batch_size * self.world_size
        for b in range(self.start, self.batches_per_epoch(self.n, self.batch_size, self.world_size)):
            chunk = perm[b * global_batch : (b + 1) * global_batch]
            yield chunk[self.rank :: self.world_size].tolist()
