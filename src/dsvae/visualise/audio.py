"""Listening to swaps of log-mel sequences: a crude inversion of log-mel frames to sound.

Log-mel features keep no phase and only 80 bands, so the sound is a sketch: undo the
data folder's standardisation and log, spread each mel band back over its FFT bins with the
filterbank's pseudo-inverse, and estimate a phase with Griffin-Lim (D. Griffin and J. Lim,
"Signal estimation from modified short-time Fourier transform", IEEE TASSP 1984). Good
enough to hear whose voice says which digit.

It needs the feature settings a data builder records in ``meta.json`` under
``extra.features`` (sample_rate, window, hop, n_fft, n_mels, fmin, fmax, floor; HTK mel
triangles of unit peak) and ``extra.normalisation`` (per-bin mean and std); without them the
audio is skipped and the index says so.

Shape legend: T frames, V mel bins, S = n_fft // 2 + 1 spectrum bins, L samples.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dsvae.data.audio import mel_filterbank
from dsvae.data.folder import DataInfo
from dsvae.io import atomic_write
from dsvae.model import DSVAE

GRIFFIN_LIM_ITERS = 32  # phase-estimate iterations; the sound barely changes after a few dozen
FEATURE_KEYS = ("sample_rate", "window", "hop", "n_fft", "n_mels", "floor")


def features_to_magnitude(x: np.ndarray, features: dict[str, Any], norm: dict[str, Any]) -> np.ndarray:
    """Standardised log-mel frames (T, V) -> an estimated magnitude spectrogram (S, T)."""
    log_mel = x * np.asarray(norm["std"]) + np.asarray(norm["mean"])  # (T, V)
    mel_power = np.clip(np.exp(log_mel) - features["floor"], 0.0, None)
    rate = int(features["sample_rate"])
    fb = mel_filterbank(int(features["n_mels"]), int(features["n_fft"]), rate,
                       float(features.get("fmin", 0.0)), float(features.get("fmax", rate / 2)))  # fmt: skip
    power = np.clip(mel_power @ np.linalg.pinv(fb).T, 0.0, None)  # (T, S)
    return np.sqrt(power).T  # (S, T)


def griffin_lim(magnitude: np.ndarray, n_fft: int, hop: int, window: int, seed: int = 0) -> np.ndarray:
    """A waveform (L,) whose STFT magnitude approximates ``magnitude`` (S, T)."""
    mag = torch.from_numpy(magnitude).to(torch.float64)
    win = torch.hann_window(window, periodic=True, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    phase = torch.exp(2j * torch.pi * torch.rand(mag.shape, generator=gen, dtype=torch.float64))
    length = hop * (mag.shape[1] - 1)  # frames centred on their hop, as torch.stft(center=True) places them
    stft: dict[str, Any] = {"n_fft": n_fft, "hop_length": hop, "win_length": window, "window": win, "center": True}
    for _ in range(GRIFFIN_LIM_ITERS):
        signal = torch.istft(mag * phase, length=length, **stft)
        spec = torch.stft(signal, return_complex=True, **stft)[:, : mag.shape[1]]
        phase = spec / spec.abs().clamp_min(1e-8)
    return torch.istft(mag * phase, length=length, **stft).numpy()


def write_wav(path: Path, signal: np.ndarray, rate: int) -> None:
    """Mono 16-bit PCM, peak-normalised to 0.9 so every clip is audible and none clips."""
    peak = float(np.abs(signal).max()) or 1.0
    pcm = np.round(signal / peak * 0.9 * 32767).astype("<i2")

    def write(tmp: Path) -> None:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm.tobytes())

    atomic_write(path, write)


@torch.no_grad()
def write_swap_audio(model: DSVAE, x: Tensor, info: DataInfo, out: Path) -> dict[str, Any]:
    """WAV files of two sequences' reconstructions and their swaps; an index entry (files may be empty)."""
    entry: dict[str, Any] = {"name": "audio", "title": "Listening to swaps", "files": []}
    features, norm = info.extra.get("features", {}), info.extra.get("normalisation", {})
    missing = [k for k in FEATURE_KEYS if k not in features] + [k for k in ("mean", "std") if k not in norm]
    if missing or len(x) < 2:
        why = f"meta.json lacks extra.features/normalisation {missing}" if missing else "fewer than two sequences"
        entry["caption"] = f"Audio skipped: {why}."
        return entry
    post = model.encode(x[:2])
    f, z = post.f_mean, post.z_mean
    # the inputs go through the same inversion, so what Griffin-Lim alone loses can be heard apart from the model
    clips = {"a_input": None, "a_recon": (0, 0), "b_input": None, "b_recon": (1, 1),
             "a_voice_b_words": (0, 1), "b_voice_a_words": (1, 0)}  # fmt: skip
    rate = int(features["sample_rate"])
    for name, pair in clips.items():
        if pair is None:
            frames = x[0 if name.startswith("a") else 1].cpu().numpy()  # (T, V)
        else:
            i, j = pair
            frames = model.decode(f[i : i + 1], z[j : j + 1])[0].cpu().numpy()  # (T, V)
        mag = features_to_magnitude(frames, features, norm)
        signal = griffin_lim(mag, int(features["n_fft"]), int(features["hop"]), int(features["window"]))
        write_wav(out / f"{name}.wav", signal, rate)
        entry["files"].append(f"{name}.wav")
    entry["caption"] = (
        "Two test utterances A and B as they are, reconstructed, and swapped: f (static: voice) of one with z_1:T "
        "(dynamic: words) of the other. Phase by Griffin-Lim from log-mel frames, so the sound is rough."
    )
    return entry
