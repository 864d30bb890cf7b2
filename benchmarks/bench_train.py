"""Training-step benchmark: the plain eager model against the fast path, on this machine's CPU.

    .venv/bin/python benchmarks/bench_train.py [--configs note,sprites-cpu] [--batch 16]
        [--steps 3] [--warmup 1] [--repeats 1] [--variants reference,channels_last,fast]
        [--compile] [--bf16] [--threads N]

One training step is forward + backward + Adam step on a batch of B sequences of 8 frames of
64x64x3 (channels-last in memory, as the data folder's loader gives them). For each model
configuration (the design note's, ``DSVAEConfig()``: K=256, D=512; the ``sprites-cpu`` preset:
K=32, D=256) and each variant it prints seconds per step (the median of ``--steps`` timed steps
after ``--warmup``), sequences per second, the FLOPs of one step counted by
``torch.utils.flop_counter.FlopCounterMode`` (on the meta device, at the real batch size),
achieved GFLOP/s, and the speed-up over the reference measured in the same run. A peak line
gives the GFLOP/s of a large NHWC stride-1 3x3 conv (forward and both gradients), to read the
others against.

Variants (each runs in its own process, so that process-wide settings do not leak):

- ``reference``: plain eager: NCHW weights, the conv stacks' ``nn.Sequential`` reference path.
- ``channels_last``: NHWC weights only.
- ``fast``: NHWC, the fast path, and glibc's malloc keeping freed memory (``dsvae.train.speed``).
- ``fast+compile`` (with ``--compile``): ``fast`` under ``torch.compile``; its first step
  (compilation) is shown apart.
- ``fast+bf16`` (with ``--bf16``): ``fast`` with the forward under CPU bf16 autocast, as
  ``train.precision=bf16`` runs it. It pays only on CPUs with bf16 units (``avx512_bf16`` or
  AMX in ``lscpu``'s flags); without them bf16 arithmetic takes slower code paths.

With ``--repeats R`` every measurement is taken R times, interleaved; the table shows the best
and the spread (min-max of the per-run medians). Columns: ``s/step`` wall clock; ``cpu s``
the process's CPU seconds per step (all threads; with one thread, the work itself, which
other processes on the machine barely change); ``1st step`` the slowest first step (kernel
set-up, compilation); ``RSS GiB`` the process's peak resident memory; ``load`` the range of
the 1-minute load average before the runs (the previous run's own process still counts in it).
Timings on a shared machine are noisy, two-thread ones the most: a thread descheduled by
another process stalls its partner at every parallel region.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from dsvae import DSVAE, DSVAEConfig
from dsvae.presets import get_preset
from dsvae.train.speed import prepare_for_speed, retain_freed_memory

BATCH = 16  # sequences per step: the presets' batch size
LR = 1e-3  # Adam learning rate; any value gives the same step time
RESULT_TAG = "RESULT "  # marks the worker's JSON line on stdout
# The peak conv: a K=256 3x3 stride-1 NHWC conv at 32x32 on 4 sequences of 8 frames, the shape
# of the note's model's second-largest layers (the largest are stride 2 at 64x64 <-> 32x32).
PEAK_FRAMES, PEAK_CHANNELS, PEAK_SIZE, PEAK_REPS = 32, 256, 32, 5
GIGA = 1e9
KIB, GIB = 1024, 2**30


@dataclass(frozen=True)
class Variant:
    """How the model is set up for one measured variant."""

    channels_last: bool
    fast_path: bool
    retain_memory: bool
    compile: bool = False
    bf16: bool = False  # forward under torch.autocast("cpu", torch.bfloat16)


VARIANTS = {
    "reference": Variant(channels_last=False, fast_path=False, retain_memory=False),
    "channels_last": Variant(channels_last=True, fast_path=False, retain_memory=False),
    "fast": Variant(channels_last=True, fast_path=True, retain_memory=True),
    "fast+compile": Variant(channels_last=True, fast_path=True, retain_memory=True, compile=True),
    "fast+bf16": Variant(channels_last=True, fast_path=True, retain_memory=True, bf16=True),
}


def model_config(name: str) -> DSVAEConfig:
    """``note`` is the design note's ``DSVAEConfig()``; any other name is a preset's model."""
    return DSVAEConfig() if name == "note" else get_preset(name).model


def frames(cfg: DSVAEConfig, batch: int, device: str = "cpu") -> torch.Tensor:
    """Random frames (B, T, C, H, W) in [0, 1], channels-last in memory like the loader's batches."""
    C, H, W = cfg.frame_shape
    return torch.rand(batch, cfg.n_frames, H, W, C, device=device).movedim(-1, -3)


def count_flops(cfg: DSVAEConfig, batch: int, fast_path: bool) -> int:
    """FLOPs of one forward + backward, counted on the meta device (no arithmetic is done)."""
    with torch.device("meta"):
        model = prepare_for_speed(DSVAE(cfg), channels_last=False, fast_path=fast_path)
        x = frames(cfg, batch, device="meta")
    counter = FlopCounterMode(display=False)
    with counter:
        model(x).loss.backward()
    return counter.get_total_flops()


def timed(fn: Callable[[], Any]) -> float:
    """Wall-clock seconds of ``fn()``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_cpu(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads of this process) of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


# -- the worker: one variant of one config, in a fresh process ------------------------------------


def run_steps(spec: dict[str, Any]) -> dict[str, Any]:
    """Time training steps for ``spec`` (config, variant, batch, steps, warmup)."""
    variant = VARIANTS[spec["variant"]]
    retained = retain_freed_memory() if variant.retain_memory else False
    torch.manual_seed(0)
    cfg = model_config(spec["config"])
    model = prepare_for_speed(DSVAE(cfg), channels_last=variant.channels_last, fast_path=variant.fast_path)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    net = torch.compile(model) if variant.compile else model
    x = frames(cfg, spec["batch"])
    losses: list[float] = []

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant.bf16):
            loss = net(x).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    first = timed(step)
    for _ in range(spec["warmup"] - 1):
        step()
    walls, cpus = zip(*(timed_cpu(step) for _ in range(spec["steps"])), strict=True)
    if not all(map(math.isfinite, losses)):
        raise RuntimeError(f"non-finite loss in {spec}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else KIB)
    return {"times": list(walls), "cpu": list(cpus), "first": first, "retained": retained, "rss": rss}


def run_peak(spec: dict[str, Any]) -> dict[str, Any]:
    """GFLOP/s of the peak conv: forward alone, and forward + both gradients."""
    retain_freed_memory()  # as in the fast variant: no page faults in the measurement
    N, K, S = PEAK_FRAMES, PEAK_CHANNELS, PEAK_SIZE
    x = torch.randn(N, K, S, S).contiguous(memory_format=torch.channels_last).requires_grad_()
    w = torch.randn(K, K, 3, 3).contiguous(memory_format=torch.channels_last).requires_grad_()
    grad = torch.randn(N, K, S, S).contiguous(memory_format=torch.channels_last)
    flops = 2 * N * S * S * K * K * 3 * 3  # one pass (forward, or one of the two gradients)

    def forward() -> None:
        with torch.no_grad():
            F.conv2d(x, w, padding=1)

    def forward_backward() -> None:
        F.conv2d(x, w, padding=1).backward(grad)

    forward(), forward_backward()  # warm-up: oneDNN builds its kernels on first use
    t_fwd = min(timed(forward) for _ in range(PEAK_REPS))
    t_all = min(timed(forward_backward) for _ in range(PEAK_REPS))
    return {"fwd": flops / t_fwd / GIGA, "fwd_bwd": 3 * flops / t_all / GIGA}


def worker(spec: dict[str, Any]) -> None:
    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    result = run_peak(spec) if spec["kind"] == "peak" else run_steps(spec)
    print(RESULT_TAG + json.dumps(result), flush=True)


def spawn(spec: dict[str, Any]) -> dict[str, Any]:
    """Run :func:`worker` on ``spec`` in a fresh Python process; its result and the load before it."""
    load = os.getloadavg()[0]
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"worker {spec} failed:\n{proc.stderr[-2000:]}")
    result = json.loads(lines[-1][len(RESULT_TAG) :])
    result["load"] = load
    return result


# -- the table ------------------------------------------------------------------------------------


def report(args: argparse.Namespace, results: dict[tuple[str, str], list[dict]], flops: dict[str, int]) -> None:
    header = (
        f"{'config':12s} {'variant':14s} {'s/step':>7s} {'spread':>13s} {'seq/s':>6s} {'GFLOP/step':>10s} "
        f"{'GFLOP/s':>8s} {'speed-up':>8s} {'cpu s':>6s} {'1st step':>8s} {'RSS GiB':>7s} {'load':>9s}"
    )
    print(header)
    print("-" * len(header))
    for config in args.configs:
        best_ref = None
        for variant in args.variants:
            runs = results[(config, variant)]
            medians = [statistics.median(r["times"]) for r in runs]
            best = min(medians)
            if variant == "reference":
                best_ref = best
            speedup = f"{best_ref / best:7.2f}x" if best_ref else "       -"
            spread = f"{min(medians):5.2f}-{max(medians):5.2f}" if len(medians) > 1 else "-"
            loads = f"{min(r['load'] for r in runs):.1f}-{max(r['load'] for r in runs):.1f}"
            first = max(r["first"] for r in runs)
            cpu = statistics.median(runs[medians.index(best)]["cpu"])
            print(
                f"{config:12s} {variant:14s} {best:7.2f} {spread:>13s} {args.batch / best:6.2f} "
                f"{flops[config] / GIGA:10.1f} {flops[config] / best / GIGA:8.1f} {speedup:>8s} "
                f"{cpu:6.2f} {first:8.1f} {max(r['rss'] for r in runs) / GIB:7.1f} {loads:>9s}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="note,sprites-cpu", help="comma-separated: note and/or preset names")
    parser.add_argument("--variants", default="reference,channels_last,fast", help=f"from {', '.join(VARIANTS)}")
    parser.add_argument("--compile", action="store_true", help="also measure fast+compile")
    parser.add_argument("--bf16", action="store_true", help="also measure fast+bf16 (CPU bf16 autocast)")
    parser.add_argument("--batch", type=int, default=BATCH, help="sequences per step")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per run (the note's config: ~5-15 s each)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (>= 1)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per measurement, interleaved")
    parser.add_argument("--threads", type=int, default=0, help="torch threads in the workers; 0: torch's default")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    args.configs = args.configs.split(",")
    args.variants = args.variants.split(",") + ["fast+compile"] * args.compile + ["fast+bf16"] * args.bf16
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown or args.warmup < 1 or args.steps < 1 or args.repeats < 1:
        parser.error(f"unknown variant {unknown[0]}" if unknown else "--warmup, --steps and --repeats must be >= 1")

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads by default, {os.cpu_count()} CPUs")
    flops = {c: count_flops(model_config(c), args.batch, fast_path=False) for c in args.configs}
    for c in args.configs:  # the fast path must do the same arithmetic
        if count_flops(model_config(c), args.batch, fast_path=True) != flops[c]:
            raise RuntimeError(f"{c}: the fast path counts different FLOPs from the reference")
    results: dict[tuple[str, str], list[dict]] = {(c, v): [] for c in args.configs for v in args.variants}
    peaks = []
    for _ in range(args.repeats):
        peaks.append(spawn({"kind": "peak", "threads": args.threads}))
        for config in args.configs:
            for variant in args.variants:
                spec = {"kind": "steps", "config": config, "variant": variant, "batch": args.batch,
                        "steps": args.steps, "warmup": args.warmup, "threads": args.threads}  # fmt: skip
                results[(config, variant)].append(spawn(spec))
    print(
        f"peak: NHWC 3x3 conv, {PEAK_FRAMES}x{PEAK_CHANNELS}x{PEAK_SIZE}x{PEAK_SIZE} -> {PEAK_CHANNELS} channels: "
        f"forward {max(p['fwd'] for p in peaks):.1f} GFLOP/s, forward + both gradients "
        f"{max(p['fwd_bwd'] for p in peaks):.1f} GFLOP/s (best of {args.repeats} run(s))"
    )
    print(f"batch {args.batch} x 8 frames of 64x64x3; median of {args.steps} step(s) after {args.warmup} warm-up\n")
    report(args, results, flops)


if __name__ == "__main__":
    main()
