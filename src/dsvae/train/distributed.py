"""One code path for one process and N processes under ``torchrun`` (PyTorch DDP).

The CLI reads torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) and hands a
:class:`DistInfo` to the trainer; library code never reads the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in the job."""

    rank: int = 0  # global rank; rank 0 alone writes files and logs
    world_size: int = 1  # number of processes
    local_rank: int = 0  # rank on this machine: picks the GPU

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


AUGMENT_STREAM = 1  # the stream of the contrastive terms' augmentations (0: the reparameterisation noise)


def noise_seed(seed: int, rank: int, step: int, stream: int = 0) -> int:
    """The seed of the noise (reparameterisation, prior draws) of ``rank`` at ``step``.

    Distinct per rank, so N ranks x B sequences is an honest batch of N*B draws; a function of
    (seed, rank, step) alone, so a resumed run draws what the uninterrupted run drew, whatever
    the RNG state saved in the checkpoint. SeedSequence mixes the three numbers so that
    neighbouring ranks or steps do not get correlated streams. ``stream`` > 0 names another,
    independent source of randomness of the same step (e.g. :data:`AUGMENT_STREAM`); stream 0
    is the seed that versions without streams gave.
    """
    entropy = [seed & (2**64 - 1), rank, step]  # SeedSequence takes non-negative integers only
    if stream:
        entropy.append(stream)
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0])


def init(info: DistInfo, device: torch.device) -> None:
    """Join the process group (gloo on CPU, nccl on CUDA); a no-op for one process."""
    if info.enabled and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)


def shutdown(info: DistInfo, wait: bool = False) -> None:
    """Leave the process group; ``wait``: first meet every other process at a barrier (normal exit only)."""
    if info.enabled and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def all_reduce_sum(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum a tensor over processes (in place), returning it."""
    if info.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def any_flag(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True if ``flag`` is set on any process (stop requests, non-finite losses)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    return bool(all_reduce_sum(t, info).item() > 0)


def parameters_in_sync(module: torch.nn.Module, info: DistInfo, device: torch.device) -> bool:
    """True if every process holds the same parameters (compares per-tensor sums against rank 0)."""
    if not info.enabled:
        return True
    sums = torch.stack([p.detach().double().sum() for p in module.parameters()]).to(device)
    reference = sums.clone()
    dist.broadcast(reference, src=0)
    same = torch.tensor([float(torch.equal(sums, reference))], device=device)
    dist.all_reduce(same, op=dist.ReduceOp.MIN)
    return bool(same.item() == 1.0)
