"""FSDD: log-mel sequences, the dataset's own split by recording index, labels, standardisation."""

from __future__ import annotations

import re
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from dsvae.data import build_fsdd, open_dataset
from dsvae.data.audio import log_mel, mel_filterbank, power_spectrogram
from dsvae.data.fsdd import fit_frames
from dsvae.errors import DSVAEError


@pytest.fixture(scope="module")
def fsdd_folder(fsdd_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fsdd(tmp_path_factory.mktemp("fsdd") / "fsdd", fsdd_dir)


def test_shapes_and_dtypes(fsdd_folder: Path) -> None:
    train, test = open_dataset(fsdd_folder, "train"), open_dataset(fsdd_folder, "test")
    assert train.frames.shape == (2700, 32, 80) and test.frames.shape == (300, 32, 80)
    assert train.frames.dtype == np.float32 and train.info.layout == "vector"
    item = test[0]
    assert item["x"].shape == (32, 80) and item["x"].dtype.is_floating_point and item["labels"].shape == (2,)


def test_split_by_recording_index_and_labels_from_names(fsdd_folder: Path) -> None:
    for split in ("train", "test"):
        data = open_dataset(fsdd_folder, split)
        speakers = data.info.factors[1].classes
        names = data.info.extra["recordings"][split]
        assert len(names) == len(data)
        for name, (digit, speaker) in zip(names, data.labels, strict=True):
            d, who, index = re.match(r"(\d)_(\w+)_(\d+)\.wav", name).groups()
            assert (int(index) < 5) == (split == "test")
            assert (int(d), speakers[speaker]) == (digit, who)
    assert speakers == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    test_labels = open_dataset(fsdd_folder, "test").labels
    counts = np.bincount(test_labels[:, 0] * 6 + test_labels[:, 1])
    assert (counts == 5).all()  # 5 test recordings of every digit by every speaker


def test_bins_are_standardised_with_training_statistics(fsdd_folder: Path) -> None:
    train = open_dataset(fsdd_folder, "train").frames
    np.testing.assert_allclose(train.mean(axis=(0, 1)), 0, atol=1e-3)
    np.testing.assert_allclose(train.std(axis=(0, 1)), 1, atol=1e-3)
    norm = open_dataset(fsdd_folder, "train").info.extra["normalisation"]
    assert len(norm["mean"]) == 80 and min(norm["std"]) > 0


def test_mel_filterbank_covers_every_bin_and_finds_a_tone() -> None:
    bank = mel_filterbank(80, 512, 8000)
    assert bank.shape == (80, 257) and (bank.max(axis=1) > 0).all()  # no empty filter at 8 kHz
    t = np.arange(8000) / 8000
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    mel = log_mel(power_spectrogram(tone, 320, 160, 512), bank, 1e-6)  # (L, 80)
    peak = int(np.median(mel.argmax(axis=1)))
    assert mel.shape == (49, 80)
    assert np.argmax(bank[:, 64]) == peak  # the filter that peaks at 1000 Hz (bin 64 of 512 at 8 kHz)


def test_fit_frames_centres_crops_and_pads_with_the_quietest_frame() -> None:
    x = np.arange(1, 11, dtype=np.float32)[:, None].repeat(3, 1)  # 10 frames, frame k has energy ~k
    np.testing.assert_array_equal(fit_frames(x, 4)[:, 0], [4, 5, 6, 7])
    np.testing.assert_array_equal(fit_frames(x, 13)[:, 0], [1, *range(1, 11), 1, 1])  # quietest frame: 1


def test_bad_recordings_are_clear_errors(fsdd_dir: Path, tmp_path: Path, no_leftovers) -> None:
    folder = tmp_path / "rec"
    folder.mkdir()
    for name in ("0_george_0.wav", "1_theo_7.wav"):
        shutil.copyfile(fsdd_dir / name, folder / name)
    (folder / "notes.txt").write_text("hello")
    with pytest.raises(DSVAEError, match=r"notes\.txt is not an FSDD recording"):
        build_fsdd(tmp_path / "out", folder)
    (folder / "notes.txt").unlink()
    (folder / "2_theo_1.wav").write_bytes(b"RIFF junk")
    with pytest.raises(DSVAEError, match=r"2_theo_1\.wav is not a readable PCM wav file"):
        build_fsdd(tmp_path / "out", folder)
    with wave.open(str(folder / "2_theo_1.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\0\0" * 800)
    with pytest.raises(DSVAEError, match=r"2_theo_1\.wav is sampled at 16000 Hz"):
        build_fsdd(tmp_path / "out", folder)
    assert no_leftovers(tmp_path / "out")
