"""Training the judge on a labelled data folder's real training sequences.

The training split is read once, as the judge's frame net reads it (images kept as uint8: Sprites
at its own 64x64, 9000 x 8 x 3 x 64 x 64 = 885 MB; less when ``image_size`` shrinks the frames) and
held in memory, so that each epoch costs only the small net's passes. Each batch is corrupted in
label-preserving ways (augment.py) unless ``augment`` is off. Accuracy per head is then measured
on the real test split, clean and under fixed corruptions (the robustness table).

Shape legend: N sequences, B a batch, T frames, C, S image channels and judge size, V vector features.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dsvae.data.folder import SequenceDataset, open_dataset
from dsvae.evaluate.augment import (
    CORRUPTIONS,
    ROBUST_BLEND,
    ROBUST_BLUR_SIGMA,
    ROBUST_NOISE_STD,
    ROBUST_SPLICE,
    ContentIndex,
    PartnerIndex,
    add_noise,
    augment_batch,
    corrupt_pixels,
    gaussian_blur,
    mix,
    splice,
)
from dsvae.evaluate.judge import DataSignature, Judge, JudgeConfig, area_average, check_judge_out
from dsvae.schedule import warmup_cosine

READ_CHUNK = 256  # sequences read from the memory map at a time
Log = Callable[[str], None]


def shrunk_split(judge: Judge, ds: SequenceDataset, limit: int = 0) -> tuple[Tensor, Tensor]:
    """The split as the judge's frame net reads it: x (N, T, C, S, S) uint8 or (N, T, V) float32, labels (N, K)."""
    n = len(ds) if limit <= 0 else min(limit, len(ds))
    labels = torch.from_numpy(np.asarray(ds.labels[:n]))
    if not judge.net.vector and ds.info.dtype == "uint8" and ds.info.frame_shape[0] == judge.net.size:
        frames = torch.from_numpy(np.array(ds.frames[:n]))  # (N, T, H, W, C) uint8, as stored (a copy in RAM)
        return frames.permute(0, 1, 4, 2, 3).contiguous(), labels  # (N, T, C, H, W)
    xs = []
    for start in range(0, n, READ_CHUNK):
        x = ds.get_batch(np.arange(start, min(n, start + READ_CHUNK)))["x"]  # (b, T, *frame) float in [0, 1]
        small = judge.net.shrink(x)
        xs.append(small if judge.net.vector else (small * 255).round().to(torch.uint8))  # uint8: 4x less memory
    return torch.cat(xs), labels


def as_float(x: Tensor) -> Tensor:
    return x.float().div_(255) if x.dtype == torch.uint8 else x.float()


def set_standardisation(judge: Judge, x: Tensor) -> None:
    """Vector frames: per-feature mean and std of the training split, kept as buffers of the net."""
    if judge.net.vector:
        flat = x.flatten(0, 1).double()  # (N*T, V)
        judge.net.feat_mean.copy_(flat.mean(0).float())
        judge.net.feat_std.copy_(flat.std(0).clamp_min(1e-3).float())


@torch.no_grad()
def head_accuracy(judge: Judge, x: Tensor, labels: Tensor, batch_size: int) -> dict[str, float]:
    """Accuracy per head on shrunk sequences x (N, ...) with labels (N, K)."""
    judge.net.eval()
    correct = torch.zeros(len(judge.factor_names))
    for start in range(0, len(x), batch_size):
        logits = judge.net.classify(as_float(x[start : start + batch_size]))
        y = labels[start : start + batch_size]
        correct += torch.tensor([(lg.argmax(-1) == y[:, k]).sum().item() for k, lg in enumerate(logits)])
    return {name: float(correct[k] / len(x)) for k, name in enumerate(judge.factor_names)}


def lr_factor(step: int, total: int) -> float:
    """Linear warm-up over the first 5% of the steps, then a cosine decay to 0."""
    return warmup_cosine(step, total, warmup=max(1, total // 20))


def masked_cross_entropy(logits: Tensor, y: Tensor, keep: Tensor) -> Tensor:
    """Cross-entropy (M, B, n) vs labels (B,), averaged over the sequences where ``keep`` (B,) is True
    and summed over the M members (each member learns on its own, as if trained alone)."""
    M = logits.shape[0]
    losses = F.cross_entropy(logits.flatten(0, 1), y.repeat(M), reduction="none").view(M, -1)
    return (losses * keep).sum() / keep.sum().clamp_min(1)


def train_step(
    judge: Judge, opt: torch.optim.Optimizer, x: Tensor, y: Tensor, keep: Tensor, coarse: Tensor | None = None
) -> float:
    """One step on sequences x (B, ...), labels y (B, K) and kept labels keep (B, K): the sum of the heads' losses.

    ``coarse``: what a coarse motion path reads instead of x area-averaged (see JudgeNet.member_logits)."""
    judge.net.train()
    logits = judge.net.member_logits(x, coarse)
    loss = sum((masked_cross_entropy(lg, y[:, k], keep[:, k]) for k, lg in enumerate(logits)), torch.zeros(()))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


@torch.no_grad()
def robustness(judge: Judge, x: Tensor, labels: Tensor, batch_size: int, seed: int) -> dict[str, dict[str, float]]:
    """Accuracy per head on fixed corruptions of the (shrunk) test split: ``{corruption: {head: accuracy}}``.

    blur and noise corrupt every sequence (augment.ROBUST_*); blend mixes each sequence half
    and half with a partner sharing the scored head's label, so each head is scored on its own
    blends; splice takes the last quarter of the frames from a partner with the same content, and
    every head is scored against the labels of the other three quarters.
    """
    judge.net.eval()
    names, y = judge.factor_names, labels.numpy()
    partners = PartnerIndex(y)
    content = ContentIndex(y, [not d for d in judge.net.dynamic])
    splice_rng = np.random.default_rng(seed + 1)  # its own draws: the blend column stays what it was before splices
    T = x.shape[1]
    cut = torch.full((batch_size,), T - max(1, round(ROBUST_SPLICE * T)))
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    correct = {c: np.zeros(len(names)) for c in CORRUPTIONS}
    for start in range(0, len(x), batch_size):
        rows = np.arange(start, min(len(x), start + batch_size))
        xb, yb = as_float(x[rows]), y[rows]
        B = len(rows)
        for name, xc in (("blur", gaussian_blur(xb, torch.full((B,), ROBUST_BLUR_SIGMA))),
                         ("noise", add_noise(xb, torch.full((B,), ROBUST_NOISE_STD), gen))):  # fmt: skip
            for k, lg in enumerate(judge.net.classify(xc)):
                correct[name][k] += (lg.argmax(-1).numpy() == yb[:, k]).sum()
        for k in range(len(names)):
            mate = partners.partners(rows, np.full(B, k), rng)
            xm = mix(xb, as_float(x[torch.from_numpy(mate)]), torch.full((B,), ROBUST_BLEND))
            correct["blend"][k] += (judge.net.classify(xm)[k].argmax(-1).numpy() == yb[:, k]).sum()
        xs = splice(xb, as_float(x[torch.from_numpy(content.partners(rows, splice_rng))]), cut[:B])
        for k, lg in enumerate(judge.net.classify(xs)):
            correct["splice"][k] += (lg.argmax(-1).numpy() == yb[:, k]).sum()
    return {c: {n: float(correct[c][k] / len(x)) for k, n in enumerate(names)} for c in CORRUPTIONS}


def train_judge(data_dir: str | Path, cfg: JudgeConfig, log: Log | None = None) -> Judge:
    """Train a judge on ``data_dir``'s train split and measure it on its test split, clean and corrupted.

    Args:
        data_dir: a labelled data folder with ``train`` and ``test`` splits.
        cfg: the judge's configuration.
        log: called with a line of progress now and then (the CLI prints them); None is silent.
    Returns:
        The trained :class:`Judge` with ``test_accuracy`` and ``robust_accuracy`` filled in (not yet saved).
    """
    say = log or (lambda _: None)
    train, test = open_dataset(data_dir, "train", labelled=True), open_dataset(data_dir, "test", labelled=True)
    torch.manual_seed(cfg.seed)
    judge = Judge(cfg, DataSignature.of(train.info))
    t0 = time.perf_counter()
    x, y = shrunk_split(judge, train, cfg.max_train)
    set_standardisation(judge, as_float(x))
    say(f"judge: {len(x)} training sequences of {train.info.name!r} read in {time.perf_counter() - t0:.1f}s")

    partners = PartnerIndex(y.numpy())
    content = ContentIndex(y.numpy(), [not d for d in judge.net.dynamic])
    motion = ContentIndex(y.numpy(), judge.net.dynamic)
    aug = cfg.augmentation
    opt = torch.optim.Adam(judge.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg.steps))
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    step, report_every = 0, max(1, cfg.steps // 10)
    while step < cfg.steps:
        order = torch.randperm(len(x), generator=gen)  # one pass over the training split in a new order
        for start in range(0, len(x), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            xb = as_float(x[idx])
            keep = torch.ones(len(idx), y.shape[1], dtype=torch.bool)
            coarse = None
            if cfg.augment:
                # a coarse motion path gets the same mixes, with blur, noise, ... at its own scale (docs/results.md)
                xb, keep = augment_batch(xb, idx.numpy(), x, partners, aug, gen, rng, as_float, content, motion,
                                         pixels=not judge.net.coarse)  # fmt: skip
                if judge.net.coarse:
                    coarse = corrupt_pixels(area_average(xb, judge.net.motion_size), aug, gen)
                    xb = corrupt_pixels(xb, aug, gen)
            loss = train_step(judge, opt, xb, y[idx], keep, coarse)
            sched.step()
            step += 1
            if step % report_every == 0 or step == cfg.steps:
                say(f"judge: step {step}/{cfg.steps} loss {loss:.4f} ({time.perf_counter() - t0:.0f}s)")
            if step == cfg.steps:
                break

    xt, yt = shrunk_split(judge, test)
    judge.test_accuracy = head_accuracy(judge, xt, yt, cfg.batch_size)
    judge.robust_accuracy = robustness(judge, xt, yt, cfg.batch_size, cfg.seed)
    judge.extra = {"n_train": len(x), "n_test": len(xt), "train_seconds": round(time.perf_counter() - t0, 1),
                   "data_path": str(Path(data_dir).resolve())}  # fmt: skip
    return judge


def train_and_save(data_dir: str | Path, out: str | Path, cfg: JudgeConfig, log: Log | None = None) -> Judge:
    """Train a judge and save it to ``out``; ``out`` is checked before any training, written only at the end."""
    check_judge_out(out)
    judge = train_judge(data_dir, cfg, log)
    judge.save(out)
    return judge
