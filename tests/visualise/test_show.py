"""``dsvae show``: every picture is written, with the shapes the layout promises."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dsvae.cli import main
from dsvae.data.audio import mel_filterbank
from dsvae.visualise.audio import griffin_lim
from dsvae.visualise.grids import PAD
from dsvae.visualise.show import ShowConfig, show_run

from .conftest import VECTOR_MODEL, make_run, vector_folder

NAMES = ["reconstructions", "swap", "fixed_f", "fixed_z", "prior", "interpolation", "prediction"]


def test_show_writes_every_picture(shapes_dir: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    paths = show_run(run, ShowConfig(n_sequences=3, n_draws=2, n_rows=2, n_prior=4, interpolation_steps=3))
    index = json.loads((run / "show" / "index.json").read_text())
    assert [e["name"] for e in index["pictures"]] == NAMES
    for entry in index["pictures"]:
        assert entry["files"] == [f"{entry['name']}.png", f"{entry['name']}.gif"] and entry["caption"]
    assert all(p.is_file() for p in paths)
    # the swap matrix: (3 + 1) x (3 + 1) cells of 4 frames of 32 px; the GIF shows it at each of the 4 time steps
    # (labels add a margin above and to the left of each tiled picture)
    cell_w, cell_h = 4 * 32 + 3 * 1, 32
    swap = np.asarray(Image.open(run / "show" / "swap.png").convert("RGB"))
    raw_h, raw_w = 4 * cell_h + 3 * 2 * PAD, 4 * cell_w + 3 * 3 * PAD
    assert swap.shape[0] > raw_h and swap.shape[1] > raw_w
    top, left = swap.shape[0] - raw_h, swap.shape[1] - raw_w  # the title is narrower than this picture
    gutters = [top + cell_h + i * (cell_h + 2 * PAD) for i in range(3)]  # white rows between the cells' rows
    assert all((swap[y : y + 2 * PAD, left:] == 255).all() for y in gutters)
    assert (swap[top:, left : left + cell_w] != 255).any()  # the left edge: the sources of f
    with Image.open(run / "show" / "swap.gif") as gif:
        assert gif.n_frames == 4 and gif.size[0] > 4 * 32 + 3 * PAD and gif.size[1] > 4 * 32 + 3 * PAD
    interpolation = Image.open(run / "show" / "interpolation.png").size[1]
    assert 3 * 32 + 2 * PAD < interpolation < 3 * 32 + 2 * PAD + 60  # 3 steps, one per row, and two label lines


def test_show_cli_on_a_run_without_checkpoint(shapes_dir: Path, tmp_path: Path, capsys) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    for f in (run / "checkpoints" / "latest").iterdir():
        f.unlink()
    assert main(["show", str(run)]) == 2
    assert "no best checkpoint" in capsys.readouterr().err
    assert not (run / "show").exists()


def test_vector_runs_get_spectrograms_and_sound(tmp_path: Path) -> None:
    data = vector_folder(tmp_path / "speech", with_features=True)
    run = make_run(tmp_path / "run", data, VECTOR_MODEL)
    show_run(run, ShowConfig(n_sequences=3, n_draws=2, n_rows=2, n_prior=3, interpolation_steps=3))
    index = json.loads((run / "show" / "index.json").read_text())
    files = [f for e in index["pictures"] for f in e["files"]]
    assert not [f for f in files if f.endswith(".gif")]  # spectrograms are not animated
    wavs = [f for f in files if f.endswith(".wav")]
    assert wavs == ["a_input.wav", "a_recon.wav", "b_input.wav", "b_recon.wav", "a_voice_b_words.wav",
                    "b_voice_a_words.wav"]  # fmt: skip
    with wave.open(str(run / "show" / wavs[4])) as w:
        assert w.getframerate() == 8000 and w.getnframes() == 160 * 5  # 6 frames 20 ms apart, centred


def test_audio_is_skipped_with_a_reason_without_feature_settings(tmp_path: Path) -> None:
    data = vector_folder(tmp_path / "speech", with_features=False)
    run = make_run(tmp_path / "run", data, VECTOR_MODEL)
    show_run(run, ShowConfig(n_sequences=2, n_prior=2))
    audio = json.loads((run / "show" / "index.json").read_text())["pictures"][-1]
    assert audio["files"] == [] and audio["caption"].startswith("Audio skipped: meta.json lacks")


def test_griffin_lim_keeps_the_pitch_of_a_tone() -> None:
    rate, n_fft, hop = 8000, 512, 128
    t = np.arange(rate // 2) / rate
    tone = np.sin(2 * np.pi * 1000 * t)
    mag = torch.stft(torch.from_numpy(tone), n_fft, hop, window=torch.hann_window(n_fft, dtype=torch.float64),
                     return_complex=True).abs().numpy()  # fmt: skip
    signal = griffin_lim(mag, n_fft, hop, n_fft)
    spectrum = np.abs(np.fft.rfft(signal))
    assert np.fft.rfftfreq(len(signal), 1 / rate)[spectrum.argmax()] == pytest.approx(1000, abs=10)


def test_mel_triangles_have_unit_peaks_in_order() -> None:
    fb = mel_filterbank(10, 512, 8000, 0.0, 4000.0)
    assert fb.shape == (10, 257) and (fb.max(1) > 0.9).all() and fb.max() <= 1.0  # peaks between FFT bins
    assert (np.diff(fb.argmax(1)) > 0).all()


def test_show_out_follows_the_output_folder_rule(shapes_dir: Path, tmp_path: Path, capsys) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    out = tmp_path / "pictures"
    out.mkdir()  # an empty folder is fine
    assert main(["show", str(run), "--out", str(out), "n_sequences=2", "n_prior=2"]) == 0
    assert (out / "index.json").is_file() and not (run / "show").exists()
    assert main(["show", str(run), "--out", str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert main(["show", str(run), "--out", str(run)]) == 2  # a run folder is not a show output
    assert "holds no `dsvae show` output" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["show", str(run), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_run_show_is_refreshed_whole(shapes_dir: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    show_run(run, ShowConfig(n_sequences=2, n_prior=2))
    (run / "show" / "stale.png").write_bytes(b"old")
    show_run(run, ShowConfig(n_sequences=1, n_prior=2))  # one sequence: no interpolation picture
    assert not (run / "show" / "stale.png").exists() and not (run / "show" / "interpolation.png").exists()
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []
