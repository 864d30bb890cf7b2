"""Log-mel spectrogram features in numpy: reading PCM wav, a Hann-windowed STFT, a mel filterbank.

Mel scale: the HTK formula mel = 2595 log10(1 + f / 700). Filters are triangles with corners
evenly spaced in mel between ``fmin`` and ``fmax``, evaluated at the FFT bins' frequencies
(unit peak, no area normalisation).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from dsvae.errors import DSVAEError

PCM16_SCALE = 1.0 / 32768.0  # 16-bit samples to [-1, 1)


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples of a mono 16-bit PCM wav file as float32 in [-1, 1), and the sample rate."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            data = w.readframes(w.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise DSVAEError(f"{path} is not a readable PCM wav file ({exc})") from exc
    if channels != 1 or width != 2:
        raise DSVAEError(f"{path} has {channels} channel(s) of {8 * width}-bit samples; expected mono 16-bit PCM")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) * PCM16_SCALE, rate


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, rate: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters over the one-sided spectrum."""
    fmax = rate / 2 if fmax is None else fmax
    corners = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # (n_mels + 2,)
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / rate)  # (n_fft // 2 + 1,)
    left, centre, right = corners[:-2, None], corners[1:-1, None], corners[2:, None]
    rising = (freqs - left) / (centre - left)
    falling = (right - freqs) / (right - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def power_spectrogram(samples: np.ndarray, window: int, hop: int, n_fft: int) -> np.ndarray:
    """Power spectra (L, n_fft // 2 + 1) float32 of Hann-windowed frames of a signal.

    Frames start every ``hop`` samples and span ``window`` samples (no padding at the ends; a
    signal shorter than one window is zero-padded to one frame).
    """
    if len(samples) < window:
        samples = np.pad(samples, (0, window - len(samples)))
    n = 1 + (len(samples) - window) // hop
    starts = hop * np.arange(n)[:, None]  # (L, 1)
    frames = samples[starts + np.arange(window)]  # (L, window)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window) / window)  # periodic Hann
    return (np.abs(np.fft.rfft(frames * hann, n=n_fft)) ** 2).astype(np.float32)


def log_mel(power: np.ndarray, filterbank: np.ndarray, floor: float) -> np.ndarray:
    """Power spectra (..., n_fft // 2 + 1) -> log(mel power + floor) (..., n_mels) float32.

    Takes a whole data set's spectra at once as one 2-D matrix product: numpy runs a batched
    (3-D) product as thousands of small threaded BLAS calls, some 50 times slower here.
    """
    flat = power.reshape(-1, power.shape[-1])  # (..., F) -> (M, F)
    mel = flat @ filterbank.T.astype(np.float32)  # (M, n_mels)
    return np.log(mel + floor).astype(np.float32).reshape(*power.shape[:-1], -1)
