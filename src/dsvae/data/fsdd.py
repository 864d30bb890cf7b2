"""``fsdd``: the Free Spoken Digit Dataset as sequences of log-mel frames (the audio stand-in for TIMIT).

Recordings ``{digit}_{speaker}_{index}.wav`` (8 kHz mono 16-bit) become log-mel spectrograms:
a 40 ms periodic-Hann window every 20 ms (50 frames per second), a 512-point FFT, 80 HTK-mel
bins from 0 Hz to 4 kHz, log(power + 1e-6). Why these numbers: 80 bins is the feature size of
the paper's TIMIT set-up; a 20 ms hop lets 32 frames (0.66 s) hold about 95% of FSDD's
utterances whole (median 0.42 s, 95th percentile 0.66 s); the 1e-6 floor sits near the quietest
1% of bins, so near-silence does not dominate a Gaussian likelihood.

Each spectrogram is centred in ``n_frames`` frames: longer ones lose their ends equally, shorter
ones are padded on both sides with copies of their quietest frame (their own background, not
digital silence). Finally each bin is standardised with the mean and standard deviation of the
training split (stored in meta.json under ``extra.normalisation``; invert with x * std + mean).

Labels: ``digit`` (dynamic, the spoken content) and ``speaker`` (static). Split: the dataset's
own, recordings with index 0-4 are the test set, the rest (5-49) the training set. meta.json
lists the recording behind each sequence (``extra.recordings``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dsvae.data.audio import log_mel, mel_filterbank, power_spectrogram, read_wav
from dsvae.data.download import file_digest, manifest_digest
from dsvae.data.folder import DataFolderWriter, DataInfo, Factor
from dsvae.errors import DSVAEError

RECIPE_VERSION = "1"
SAMPLE_RATE = 8000
WINDOW = 320  # samples: 40 ms
HOP = 160  # samples: 20 ms
N_FFT = 512  # zero-padded FFT: 15.6 Hz bins, so even the narrowest low mel filter covers a bin
N_MELS = 80
FLOOR = 1e-6  # added to the mel power before the log
N_TEST_INDICES = 5  # recordings 0-4 of each digit and speaker are the test set (the dataset's convention)
NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")
DIGITS = [str(d) for d in range(10)]


def list_recordings(folder: Path) -> list[tuple[Path, int, str, int]]:
    """(path, digit, speaker, index) of every recording, sorted by digit, speaker, index."""
    if not folder.is_dir():
        raise DSVAEError(f"FSDD recordings folder {folder} does not exist; clone "
                         "github.com/Jakobovski/free-spoken-digit-dataset and pass its recordings/ folder")  # fmt: skip
    found = []
    for path in folder.iterdir():
        if path.name.startswith("."):
            continue
        match = NAME.match(path.name)
        if match is None:
            raise DSVAEError(f"{path} is not an FSDD recording: names are {{digit}}_{{speaker}}_{{index}}.wav")
        found.append((path, int(match[1]), match[2], int(match[3])))
    if not found:
        raise DSVAEError(f"FSDD recordings folder {folder} has no .wav files")
    return sorted(found, key=lambda r: (r[1], r[2], r[3]))


def fit_frames(power: np.ndarray, n_frames: int) -> np.ndarray:
    """Centre (L, F) power spectra in exactly ``n_frames``: crop both ends, or pad with the quietest frame."""
    extra = len(power) - n_frames
    if extra >= 0:
        return power[extra // 2 : extra // 2 + n_frames]
    quietest = power[np.argmin(power.sum(axis=1))]
    before, after = -extra // 2, -extra - (-extra // 2)
    return np.concatenate([np.repeat(quietest[None], before, 0), power, np.repeat(quietest[None], after, 0)])


def spectra_of(path: Path, n_frames: int) -> np.ndarray:
    """The (n_frames, n_fft // 2 + 1) power spectra of one recording, centred."""
    samples, rate = read_wav(path)
    if rate != SAMPLE_RATE:
        raise DSVAEError(f"{path} is sampled at {rate} Hz; FSDD recordings are {SAMPLE_RATE} Hz")
    if not len(samples):
        raise DSVAEError(f"{path} has no samples")
    return fit_frames(power_spectrogram(samples, WINDOW, HOP, N_FFT), n_frames)


def build_fsdd(
    out: str | Path, recordings: str | Path, n_frames: int = 32, n_mels: int = N_MELS, progress: bool = False
) -> Path:
    """Write the FSDD data folder to ``out`` (atomically) from the ``recordings`` folder.

    Args:
        n_frames: frames per sequence (20 ms apart); 32 matches the ``fsdd`` preset.
        n_mels: mel bins per frame; 80 matches the preset's ``frame_dim``.
    """
    if n_frames < 1 or n_mels < 1:
        raise DSVAEError(f"n_frames and n_mels must be >= 1, got {n_frames} and {n_mels}")
    recs = list_recordings(Path(recordings))
    speakers = sorted({speaker for _, _, speaker, _ in recs})
    spectra = np.stack([spectra_of(path, n_frames) for path, *_ in tqdm(recs, desc="fsdd", disable=not progress)])
    features = log_mel(spectra, mel_filterbank(n_mels, N_FFT, SAMPLE_RATE), FLOOR)  # (N, T, V)
    labels = np.array([(digit, speakers.index(speaker)) for _, digit, speaker, _ in recs], dtype=np.int64)
    is_test = np.array([index < N_TEST_INDICES for *_, index in recs])
    splits = {"train": np.flatnonzero(~is_test), "test": np.flatnonzero(is_test)}
    if not len(splits["train"]):
        raise DSVAEError(f"{recordings} has no training recordings (index >= {N_TEST_INDICES}) to normalise with")
    mean = features[splits["train"]].mean(axis=(0, 1))  # (V,) per-bin statistics of the training split
    std = features[splits["train"]].std(axis=(0, 1))
    sources = {"recordings/*.wav": f"sha256-manifest:{manifest_digest((p.name, file_digest(p)) for p, *_ in recs)}"}
    with DataFolderWriter(out) as w:
        for split, idx in splits.items():
            w.frames(split, (len(idx), n_frames, n_mels), np.float32)[:] = (features[idx] - mean) / std
            w.labels(split, labels[idx])
        info = DataInfo(
            name="fsdd", layout="vector", frame_shape=[n_mels], n_frames=n_frames, dtype="float32",
            splits={split: len(idx) for split, idx in splits.items()},
            factors=[Factor("digit", "dynamic", DIGITS), Factor("speaker", "static", speakers)],
            recipe_version=RECIPE_VERSION, sources=sources,
            extra={
                "features": {"sample_rate": SAMPLE_RATE, "window": WINDOW, "hop": HOP, "n_fft": N_FFT,
                             "n_mels": n_mels, "mel": "htk", "fmin": 0.0, "fmax": SAMPLE_RATE / 2, "floor": FLOOR,
                             "frames_per_second": SAMPLE_RATE / HOP, "fit": "centre; pad with the quietest frame"},
                "normalisation": {"mean": mean.tolist(), "std": std.tolist()},
                "recordings": {split: [recs[i][0].name for i in idx] for split, idx in splits.items()},
            },
        )  # fmt: skip
        return w.commit(info)
