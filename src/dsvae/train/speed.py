"""Prepare a model (and, on CPU, the process) for fast training; the function stays the same.

Measured on the project's 2-core CPU (AMD EPYC, AVX-512, fp32; ``benchmarks/bench_train.py``):

- NHWC (``channels_last``) convolutions: oneDNN's kernels for this model's 3x3 convs and
  transposed convs are faster on NHWC tensors than on NCHW ones (on CUDA, cuDNN prefers NHWC
  for tensor-core math; not measured here).
- The conv stacks' fast path (:func:`dsvae.model.blocks.run_conv_stack`): ReLU in place, and
  transposed convs that add their bias apart (PyTorch's oneDNN backward reduces that bias
  gradient with a slow kernel).
- :func:`retain_freed_memory`: the largest activations of the note's model are 0.5 GiB each
  at batch 16; glibc returns such blocks to the OS on free, so every step pays page faults
  and zeroing to map them again (measured: 0.23 s to allocate and fill 0.5 GiB fresh, 0.02 s
  into a reused block).

The training loop calls :func:`prepare_for_speed` before building the optimizer, and (on CPU)
:func:`retain_freed_memory` once per process. Batches should stay channels-last in memory, as
the data folder's loader makes them: ``x.flatten(0, 1)`` of such a (B, T, C, H, W) tensor is
an NHWC view, so no copy is made; do not call ``x.contiguous()`` on them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import TypeVar

import torch
from torch import nn

from dsvae.model import DSVAE
from dsvae.model.blocks import ConvFeatures, DeconvNet

# glibc's mallopt parameters (malloc.h) and the largest value an int argument can carry.
M_TRIM_THRESHOLD = -1  # free memory at the top of the heap above this is returned to the OS
M_MMAP_THRESHOLD = -3  # blocks at least this large get their own mmap (unmapped on free)
MALLOPT_MAX = 2**31 - 1

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def set_fast_path(model: ModuleT, enabled: bool) -> ModuleT:
    """Switch every conv stack of ``model`` to the fast path (True) or the plain reference (False)."""
    for module in model.modules():
        if isinstance(module, (ConvFeatures, DeconvNet)):
            module.fast_path = enabled
    return model


def prepare_for_speed(model: DSVAE, channels_last: bool = True, fast_path: bool = True) -> DSVAE:
    """The same model, set up to train fast; call it before building the optimizer.

    Args:
        model: the model; changed in place and returned.
        channels_last: store the conv weights NHWC, so the convolutions run NHWC kernels (their
            outputs are NHWC too). ``state_dict`` names and shapes do not change, and checkpoints
            are written contiguous.
        fast_path: the conv stacks' fast path (see :func:`dsvae.model.blocks.run_conv_stack`);
            False keeps the plain ``nn.Sequential`` reference.
    """
    set_fast_path(model, fast_path)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # missing from torch's stubs
    return model


def retain_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse (process-wide); True if it was applied.

    By default glibc serves blocks above 32 MiB with their own mmap and unmaps them on free, so
    a CPU training step that frees and reallocates the same large activations pays page faults
    and zeroing for each of them every step. With these settings such blocks come from the heap
    and stay mapped once freed: resident memory stays at the step's peak between steps. This
    is what an allocator such as jemalloc or tcmalloc gives (PyTorch's CPU performance tuning
    guide recommends them), without a dependency. No effect, and False, without glibc.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MALLOPT_MAX)) and bool(mallopt(M_TRIM_THRESHOLD, MALLOPT_MAX))
