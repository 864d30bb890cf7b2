"""Words around tiled pictures: where they go, that the picture stays whole, shrinking wide pictures."""

from __future__ import annotations

import numpy as np
import torch

from dsvae.visualise.grids import PAD, labelled_sequence_grid, sequence_grid
from dsvae.visualise.labels import MAX_WIDTH, Axis, Labels, draw_labels, shrink

from .test_samples import embedded_at


def dark(region: np.ndarray) -> bool:
    return bool((region.mean(-1) < 128).any())


def test_labels_go_beside_their_rows_and_above_their_columns() -> None:
    x = torch.ones(3, 4, 3, 32, 32)  # white frames: any dark pixel is a word
    raw = sequence_grid(x)
    pic = labelled_sequence_grid(x, Labels("a title", ["one", "", "three"], ["t=1", "t=2", "", "t=4"]))
    left = embedded_at(pic, raw)
    assert left is not None and left > 0  # the grid is whole, to the right of the row labels
    top = pic.shape[0] - raw.shape[0]
    assert top > 0 and dark(pic[: top // 2])  # the title line
    rows = Axis(3, 32, PAD)
    band = [pic[top + int(rows.centre(i, 1)) - 4 : top + int(rows.centre(i, 1)) + 4, :left] for i in range(3)]
    assert dark(band[0]) and not dark(band[1]) and dark(band[2])  # an empty label leaves its row bare
    cols = Axis(4, 32, PAD)
    above = [
        pic[top // 2 : top, left + int(cols.centre(k, 1)) - 3 : left + int(cols.centre(k, 1)) + 3] for k in range(4)
    ]
    assert [dark(a) for a in above] == [True, True, False, True]


def test_column_labels_too_wide_for_their_column_take_two_lines() -> None:
    pic = np.full((20, 4 * 20, 3), 255, np.uint8)
    rows, cols = Axis(1, 20, 0), Axis(4, 20, 0)
    short = draw_labels(pic, Labels(cols=list("abcd")), rows, cols)
    long = draw_labels(pic, Labels(cols=[f"a long label {i}" for i in range(4)]), rows, cols)
    assert long.shape[0] - 20 > 1.5 * (short.shape[0] - 20)
    assert long.shape[1] >= short.shape[1]  # the last label is not cut at the right edge


def runs(mask: np.ndarray, min_gap: int) -> int:
    """How many inked runs a 1-D mask has, a run ending only at ``min_gap`` or more blank pixels."""
    on = np.flatnonzero(mask)
    return 0 if on.size == 0 else 1 + int((np.diff(on) > min_gap).sum())


def test_column_labels_wider_than_two_columns_never_touch_on_their_line() -> None:
    pic = np.full((20, 6 * 20, 3), 255, np.uint8)
    rows, cols = Axis(1, 20, 0), Axis(6, 20, 0)
    words = [f"sequence{i}" for i in range(6)]  # one word each, wider than two 20-pixel columns
    band = draw_labels(pic, Labels(cols=words), rows, cols)[:-20]  # the column labels above the picture
    ink = band.mean(-1) < 128
    lines, start = [], None  # text lines: stretches of inked pixel rows
    for y, inked in enumerate([*ink.any(1), False]):
        if inked and start is None:
            start = y
        elif not inked and start is not None:
            lines.append(ink[start:y].any(0))
            start = None
    assert len(lines) >= 3  # two lines would put neighbours-but-one on top of each other
    # each word stands apart from the others on its line (letters are at most 2 px apart)
    assert sum(runs(line, 3) for line in lines) == len(words)


def test_wide_pictures_shrink_by_a_whole_factor_and_keep_their_values() -> None:
    pic = np.zeros((30, 2 * MAX_WIDTH + 100, 3), np.uint8)
    pic[:, :MAX_WIDTH] = 200
    small, k = shrink(pic)
    assert k == 3 and small.shape[1] <= MAX_WIDTH and small.shape[0] == 10
    assert small[0, 0].tolist() == [200] * 3 and small[0, -2].tolist() == [0] * 3
    same, k1 = shrink(pic[:, :MAX_WIDTH])
    assert k1 == 1 and same.shape == (30, MAX_WIDTH, 3)
    labelled = draw_labels(pic, Labels("t"), Axis(1, 30, 0), Axis(1, pic.shape[1], 0))
    assert labelled.shape[1] <= MAX_WIDTH
