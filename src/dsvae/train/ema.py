"""An exponential moving average of the weights, for evaluation, samples and checkpoints (``train.ema_decay``).

After every update, ``average <- d * average + (1 - d) * weights`` with
``d = min(decay, (1 + n) / (10 + n))``, n the updates made before this one: the average
follows the weights closely at first instead of remembering the initial ones for thousands
of steps (the warm-up of TensorFlow's ``ExponentialMovingAverage(num_updates=...)``). Buffers
are copied, not averaged. Off by default; when on, the run's checkpoints hold the average as
their ``model.safetensors`` (what ``dsvae evaluate``, ``show`` and ``DSVAE.from_pretrained``
read) and the training weights beside the optimizer state, so a resumed run continues exactly.
"""

from __future__ import annotations

import copy
from typing import Generic, TypeVar

import torch
from torch import nn

M = TypeVar("M", bound=nn.Module)


def average_decay(decay: float, n_updates: int) -> float:
    """The decay used for update number ``n_updates`` (0 for the first)."""
    return min(decay, (1 + n_updates) / (10 + n_updates))


class WeightAverage(Generic[M]):
    """The moving average of ``model``'s parameters, held in a copy of the model (eval mode, no gradients)."""

    def __init__(self, model: M, decay: float) -> None:
        self.decay = decay
        self.module: M = copy.deepcopy(model)
        self.module.eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, n_updates: int) -> None:
        """Fold in ``model``'s current weights; ``n_updates``: the updates averaged before this one."""
        weight = 1.0 - average_decay(self.decay, n_updates)
        for mine, theirs in zip(self.module.parameters(), model.parameters(), strict=True):
            mine.lerp_(theirs.detach(), weight)
        for buffer, source in zip(self.module.buffers(), model.buffers(), strict=True):
            buffer.copy_(source)
