"""Words in the pictures: a title line, column labels above and row labels left of a tiled picture.

A tiled picture (grids.py) is a matrix of equal cells with fixed gaps, so one :class:`Axis`
per direction (cells, cell size, gap) says where each label goes. Pictures wider than
``MAX_WIDTH`` are first shrunk by a whole factor (box filter), so that a page shows them
without a 3000-pixel scroll; the words are drawn after shrinking and stay sharp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MAX_WIDTH = 2000  # pixels: wider pictures are shrunk by 2, 3, ... (a 64 px sprite stays >= 21 px at 3x)
FONT_SIZE = 13  # pixels; readable beside 32 and 64 px frames
TEXT_COLOUR = (30, 30, 30)
MARGIN = 4  # pixels between words and the picture

Font = ImageFont.ImageFont | ImageFont.FreeTypeFont


@dataclass(frozen=True)
class Axis:
    """One direction of a tiled picture: ``n`` cells of ``cell`` pixels, ``gap`` pixels apart."""

    n: int
    cell: int
    gap: int

    def centre(self, i: int, scale: float) -> float:
        return (i * (self.cell + self.gap) + self.cell / 2) * scale

    def pitch(self, scale: float) -> float:
        return (self.cell + self.gap) * scale


@dataclass
class Labels:
    """What a picture says about itself."""

    title: str = ""  # one line above: what was fixed and what was drawn
    rows: list[str] = field(default_factory=list)  # one per row of cells (or empty)
    cols: list[str] = field(default_factory=list)  # one per column of cells (or empty)


def font(size: int = FONT_SIZE) -> Font:
    """Pillow's own font (no font file needed); a fixed-size bitmap font before Pillow 10.1."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no size argument
        return ImageFont.load_default()


def shrink(picture: np.ndarray, max_width: int = MAX_WIDTH) -> tuple[np.ndarray, int]:
    """(H, W, 3) uint8 -> the picture averaged over k x k blocks, k the smallest whole factor fitting max_width."""
    H, W, _ = picture.shape
    k = max(1, math.ceil(W / max_width))
    if k == 1:
        return picture, 1
    Hp, Wp = -(-H // k) * k, -(-W // k) * k
    padded = np.full((Hp, Wp, 3), 255, dtype=np.float64)  # white, like the gutters
    padded[:H, :W] = picture
    blocks = padded.reshape(Hp // k, k, Wp // k, k, 3).mean((1, 3))  # (H/k, W/k, 3)
    return np.round(blocks).astype(np.uint8), k


def text_size(draw: ImageDraw.ImageDraw, text: str, fnt: Font) -> tuple[float, float]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=fnt)
    return right - left, bottom - top


def draw_labels(picture: np.ndarray, labels: Labels, rows: Axis, cols: Axis, max_width: int = MAX_WIDTH) -> np.ndarray:
    """The picture (shrunk to ``max_width`` if wider) with its title and labels around it: (H', W', 3) uint8.

    Column labels that do not fit their column take turns on as many lines as it needs for
    labels on one line never to touch: two for a label up to two columns wide, and so on.
    """
    pic, k = shrink(picture, max_width)
    scale = 1.0 / k
    fnt = font()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line = text_size(probe, "Ag", fnt)[1] + MARGIN
    row_w = max((text_size(probe, t, fnt)[0] for t in labels.rows), default=0)
    left = row_w + 2 * MARGIN if row_w else 0
    # room on the left for a first column label wider than twice its column's centre
    widths = [text_size(probe, t, fnt)[0] for t in labels.cols[: cols.n]]
    left = max(left, math.ceil(max((w / 2 - cols.centre(i, scale) for i, w in enumerate(widths)), default=0)))
    col_w = max(widths, default=0)
    col_lines = max(1, math.ceil((col_w + MARGIN) / cols.pitch(scale))) if labels.cols else 0
    title_h = line + MARGIN if labels.title else 0
    top = title_h + col_lines * line
    title_w = text_size(probe, labels.title, fnt)[0] + 2 * MARGIN if labels.title else 0
    col_right = [left + cols.centre(i, scale) + w / 2 for i, w in enumerate(widths)]
    width = max(left + pic.shape[1], title_w, math.ceil(max(col_right, default=0) + MARGIN))
    canvas = Image.new("RGB", (width, top + pic.shape[0]), (255, 255, 255))
    canvas.paste(Image.fromarray(pic, "RGB"), (int(left), int(top)))
    draw = ImageDraw.Draw(canvas)
    if labels.title:
        draw.text((MARGIN, MARGIN // 2), labels.title, fill=TEXT_COLOUR, font=fnt)
    for i, text in enumerate(labels.cols[: cols.n]):
        w = text_size(draw, text, fnt)[0]
        x = left + cols.centre(i, scale) - w / 2
        y = title_h + (i % col_lines) * line
        draw.text((x, y), text, fill=TEXT_COLOUR, font=fnt)
    for i, text in enumerate(labels.rows[: rows.n]):
        w, h = text_size(draw, text, fnt)
        y = top + rows.centre(i, scale) - h / 2 - 2  # the font's bounding box starts a little below y
        draw.text((left - MARGIN - w, y), text, fill=TEXT_COLOUR, font=fnt)
    return np.asarray(canvas)
