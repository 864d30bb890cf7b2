"""``dsvae show``: every picture of a trained run, written into ``RUN/show/``.

Pictures (PNG, and for image frames an animated GIF of the same matrix): reconstructions,
the swap matrix, one f with several z_1:T from the prior, one z_1:T with several f, prior
samples, an interpolation of f between two sequences, and future prediction. Vector frames
(audio features) are drawn as spectrograms; with the data folder's feature settings, swaps
are also written as WAV files (audio.py). ``RUN/show/index.json`` lists the pictures with
titles and captions, in the order the report shows them.

Shape legend: n sequences shown, K draws, T frames, ``*frame`` = (C, H, W) or (V,).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dsvae.config import check_choices, check_positive
from dsvae.data.folder import SequenceDataset, read_info
from dsvae.errors import DSVAEError
from dsvae.io import write_json
from dsvae.model import DSVAE
from dsvae.outputs import atomic_folder, check_output_folder
from dsvae.run_folder import SHOW_DIR, SHOW_INDEX, Checkpoint, checkpoint_dir, read_run_config
from dsvae.visualise import matrices
from dsvae.visualise.audio import write_swap_audio
from dsvae.visualise.grids import (
    gif_bytes,
    is_vector,
    labelled_matrix_frames,
    labelled_sequence_grid,
    labelled_strip_matrix,
    save_picture,
    value_range,
    write_bytes,
)
from dsvae.visualise.labels import Labels
from dsvae.visualise.samples import interleave


@dataclass
class ShowConfig:
    """What ``dsvae show`` draws."""

    n_sequences: int = 6  # test sequences in the reconstruction, swap and prediction pictures
    n_draws: int = 5  # prior draws beside each sequence in the fixed-f and fixed-z pictures
    n_rows: int = 3  # sequences (rows) in the fixed-f and fixed-z pictures
    n_prior: int = 8  # sequences drawn from p(f) p(z_1:T)
    interpolation_steps: int = 8  # points on the line between two sequences' f, ends included
    given_frames: int = 0  # frames given to future prediction; 0 means half the sequence
    frame_ms: int = 250  # GIF frame duration; 4 frames a second shows a sprite's 8-frame motion twice a second
    split: str = "test"  # the data split the sequences come from (train if the folder has no such split)
    checkpoint: Checkpoint = "best"  # "best" (falls back to "latest") or "latest"
    audio: bool = True  # vector frames: also write WAV files of swaps when the data folder describes its features
    seed: int = 0  # picks the sequences and the prior draws

    def __post_init__(self) -> None:
        check_positive(self, ("n_sequences", "n_draws", "n_rows", "n_prior", "frame_ms"), "show")
        check_choices(self, "show")
        if self.interpolation_steps < 2:
            raise DSVAEError(f"show.interpolation_steps must be >= 2, got {self.interpolation_steps}")
        if self.given_frames < 0:
            raise DSVAEError(f"show.given_frames must be >= 0, got {self.given_frames}")


def pick_sequences(root: Path, split: str, n: int, seed: int) -> tuple[Tensor, SequenceDataset]:
    """n sequences (n, T, *frame) chosen at random (seeded) from a split of the data folder."""
    info = read_info(root)
    ds = SequenceDataset(root, split if split in info.splits else "train")
    n = min(n, len(ds))
    idx = np.sort(np.random.default_rng(seed).choice(len(ds), n, replace=False))
    return ds.get_batch(idx)["x"], ds


class Writer:
    """Writes pictures into the show folder and keeps the index."""

    def __init__(self, out: Path, vector: bool, vrange: tuple[float, float] | None, frame_ms: int) -> None:
        self.out, self.vector, self.vrange, self.frame_ms = out, vector, vrange, frame_ms
        self.entries: list[dict[str, Any]] = []

    def add(
        self,
        name: str,
        title: str,
        caption: str,
        grid: Tensor | None = None,
        matrix: Tensor | None = None,
        grid_labels: Labels | None = None,
        matrix_labels: Labels | None = None,
    ) -> None:
        """A sequence grid (R, T, ...) or a matrix of sequences (R, K, T, ...), as PNG (and GIF for images).

        ``grid_labels`` name the grid's rows (its columns are the frames); ``matrix_labels`` the matrix's
        rows and columns, in the PNG of a matrix without a grid and in every picture of the GIF.
        """
        files = []
        matrix_labels = matrix_labels or Labels()
        if grid is not None:
            labels = grid_labels or Labels()
            if not labels.cols and not self.vector:  # a spectrogram's 6 px columns have no room for words
                labels = replace(labels, cols=[f"t={t + 1}" for t in range(grid.shape[1])])
            save_picture(labelled_sequence_grid(grid, labels, self.vrange), self.out / f"{name}.png")
            files.append(f"{name}.png")
        if matrix is not None:
            if grid is None:
                save_picture(labelled_strip_matrix(matrix, matrix_labels, self.vrange), self.out / f"{name}.png")
                files.append(f"{name}.png")
            if not self.vector:  # a spectrogram does not animate frame by frame
                frames = labelled_matrix_frames(matrix, matrix_labels, self.vrange)
                write_bytes(self.out / f"{name}.gif", gif_bytes(frames, self.frame_ms))
                files.append(f"{name}.gif")
        self.entries.append({"name": name, "title": title, "caption": caption, "files": files})


def numbered(word: str, n: int) -> list[str]:
    return [f"{word} {i + 1}" for i in range(n)]


@torch.no_grad()
def draw_all(model: DSVAE, x: Tensor, w: Writer, cfg: ShowConfig) -> None:
    """Every picture for the sequences x (n, T, *frame)."""
    gen = torch.Generator().manual_seed(cfg.seed)
    n, T = x.shape[:2]
    recon = model.reconstruct(x)
    w.add("reconstructions", "Reconstructions",
          "Each test sequence (odd rows) above decode(f_mean, z_mean) (even rows).",
          grid=interleave(x, recon), matrix=torch.stack([x, recon]),
          grid_labels=Labels("inputs and their reconstructions", rows=["input", "reconstruction"] * n),
          matrix_labels=Labels("inputs and their reconstructions", ["input", "reconstruction"],
                               numbered("sequence", n)))  # fmt: skip
    blank = w.vrange[0] if w.vrange else 1.0
    w.add("swap", "Swap matrix",
          "Row i has the content f of the sequence at the left edge, column j the dynamics z_1:T of the "
          "sequence on the top edge; the diagonal is the reconstructions.",
          matrix=matrices.with_edges(matrices.swap_cells(model, x), x, blank),
          matrix_labels=Labels("row: f (content) from the left edge; column: z_1:T (motion) from the top edge",
                               ["z from:", *numbered("f from", n)], ["f from:", *numbered("z from", n)]))  # fmt: skip
    rows = x[: cfg.n_rows]
    w.add("fixed_f", "One f, several z_1:T from the prior",
          "Left: a test sequence; then its f (posterior mean) decoded with z_1:T drawn from the learned prior. "
          "The content should stay, the motion change.",
          matrix=matrices.fixed_f(model, rows, cfg.n_draws, gen),
          matrix_labels=Labels("f fixed (the input's), z_1:T drawn from the prior", numbered("sequence", len(rows)),
                               ["input", *numbered("z draw", cfg.n_draws)]))  # fmt: skip
    w.add("fixed_z", "One z_1:T, several f from p(f)",
          "Left: a test sequence; then its z_1:T (posterior mean) decoded with f drawn from p(f). "
          "The motion should stay, the content change.",
          matrix=matrices.fixed_z(model, rows, cfg.n_draws, gen),
          matrix_labels=Labels("z_1:T fixed (the input's), f drawn from p(f)", numbered("sequence", len(rows)),
                               ["input", *numbered("f draw", cfg.n_draws)]))  # fmt: skip
    prior = matrices.prior_samples(model, cfg.n_prior, T, gen)
    drawn = "f and z_1:T both drawn from the prior"
    w.add("prior", "Samples from the model", "f ~ p(f) and z_1:T ~ p(z_1:T), one sequence per row.",
          grid=prior, matrix=prior[None], grid_labels=Labels(drawn, numbered("sample", cfg.n_prior)),
          matrix_labels=Labels(drawn, cols=numbered("sample", cfg.n_prior)))  # fmt: skip
    if n >= 2:
        line = matrices.interpolate_f(model, x[:1], x[1:2], x[:1], cfg.interpolation_steps)
        weights = [f"w={i / (cfg.interpolation_steps - 1):.2f}" for i in range(cfg.interpolation_steps)]
        what = "f = (1-w) f(sequence 1) + w f(sequence 2); z_1:T fixed (sequence 1's)"
        w.add("interpolation", "Interpolating f",
              f"f moves in {cfg.interpolation_steps} steps from the first sequence's to the second's (rows, top "
              "to bottom) while z_1:T stays the first sequence's.",
              grid=line, matrix=line[None], grid_labels=Labels(what, weights),
              matrix_labels=Labels(what, cols=weights))  # fmt: skip
    k = cfg.given_frames or max(1, T // 2)
    if k < T:
        fut = matrices.future(model, x, k)  # (n, 2, T, *frame)
        what = f"first {k} frames given, the other {T - k} predicted"
        w.add("prediction", "Future prediction",
              f"Odd rows: test sequences; even rows: the first {k} frames encoded, the prior rolled forward for "
              f"the remaining {T - k} (prior means), decoded with the sequence's f.",
              grid=fut.flatten(0, 1), matrix=fut.transpose(0, 1),
              grid_labels=Labels(what, ["input", "predicted"] * n,
                                 [f"t={t + 1}" + (" given" if t < k else "") for t in range(T)]),
              matrix_labels=Labels(what, ["input", "predicted"], numbered("sequence", n)))  # fmt: skip


def show_run(
    run: str | Path,
    cfg: ShowConfig,
    data_dir: str | Path | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write every picture of a run into ``RUN/show/`` (or ``out``); returns the files written.

    ``RUN/show`` is refreshed whole; an ``out`` folder follows the output-folder rule (outputs.py):
    new, empty, or an earlier ``dsvae show`` output replaced only with ``overwrite``.
    """
    target = Path(out) if out is not None else Path(run) / SHOW_DIR
    if out is not None:
        check_output_folder(target, SHOW_INDEX, overwrite, "show folder", "show")
    run_cfg = read_run_config(run)
    model = DSVAE.from_pretrained(checkpoint_dir(run, cfg.checkpoint))
    if not (data_dir or run_cfg.data.path):
        raise DSVAEError(f"run {run} names no data folder (data.path is empty); pass --data DIR")
    root = Path(data_dir or run_cfg.data.path)
    x, ds = pick_sequences(root, cfg.split, cfg.n_sequences, cfg.seed)
    model.check_input(x)
    vector = is_vector(x, lead=1)
    with atomic_folder(target) as tmp:
        w = Writer(tmp, vector, value_range(x) if vector else None, cfg.frame_ms)
        draw_all(model, x, w, cfg)
        if vector and cfg.audio:
            w.entries.append(write_swap_audio(model, x[:2], ds.info, tmp))
        index = {"run": str(Path(run).resolve()), "data": str(root.resolve()), "pictures": w.entries}
        write_json(tmp / SHOW_INDEX, index)
    return [target / f for e in w.entries for f in e["files"]] + [target / SHOW_INDEX]
