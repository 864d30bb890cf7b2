"""``sprites``: the Sprites benchmark of the DSA paper, built exactly by DESIGN.md §3.

A character composites, over an opaque black canvas, the layers body, bottomwear, topwear and
hair (options 0-5 each) and then shoes/1. Character id ``s`` in 0..1295 reads as base 6:
body = s // 216, bottomwear = (s // 36) % 6, topwear = (s // 6) % 6, hair = s % 6. Each
character performs 9 motions (3 actions x 3 directions) of 8 frames read from fixed sheet
cells. Characters are split by ``RandomState(423).permutation(1296)``: the first 1000 train,
the last 296 test (9000 / 2664 sequences). Sequence ``i`` of a split is character
``characters[i // 9]`` (in permutation order, listed in meta.json) doing motion ``i % 9``.

Speed: only the 63 distinct cells are composited, and each for all 1296 characters at once by
broadcasting over the four options (6 -> 36 -> 216 -> 1296 canvases); the whole set builds
in seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from dsvae.data.folder import DataFolderWriter, DataInfo, Factor
from dsvae.data.sprite_sheets import CELL, SPRITES_COMMIT, read_sheets

RECIPE_VERSION = "1"
N_FRAMES = 8
N_OPTIONS = 6  # options 0-5 of each varying layer
LAYERS = ("body", "bottomwear", "topwear", "hair")  # composited in this order, then SHOES
SHOES = "shoes/1.png"
N_CHARACTERS = N_OPTIONS ** len(LAYERS)  # 1296
SPLIT_SEED = 423
N_TRAIN_CHARACTERS = 1000

ACTIONS = ("walk", "spellcard", "slash")
DIRECTIONS = ("front", "left", "right")  # label order; the sheets order their rows left, front, right
SHEET_ROWS = {
    "spellcard": {"left": 1, "front": 2, "right": 3},
    "walk": {"left": 9, "front": 10, "right": 11},
    "slash": {"left": 13, "front": 14, "right": 15},
}
# sheet column of frame t = 0..7; spellcard and slash repeat frames (4 at t=6; slash 0 at t=7)
SHEET_COLUMNS = {
    "walk": (8, 1, 2, 3, 4, 5, 6, 7),
    "spellcard": (0, 1, 2, 3, 4, 5, 4, 6),
    "slash": (0, 1, 2, 3, 4, 5, 4, 0),
}
MOTIONS = tuple(f"{a}-{d}" for a in ACTIONS for d in DIRECTIONS)  # label 3 * action + direction

# class names of options 0-5, from the Universal-LPC-spritesheet names (lpc-sprites/CREDITS.md)
OPTION_NAMES = {
    "body": ["light", "tanned2", "darkelf", "darkelf2", "dark", "dark2"],
    "bottomwear": ["white pants", "golden greaves", "red pants", "metal pants", "teal pants", "formal pants"],
    "topwear": ["maroon shirt", "teal shirt", "white shirt", "plate chest", "leather chest", "formal shirt"],
    "hair": ["messy2 green", "longknot blue", "messy1 blonde", "bangs white", "plain red", "jewfro purple"],
}


def factors() -> list[Factor]:
    """Label columns: motion, action, direction (dynamic), then the four layer options (static)."""
    return [
        Factor("motion", "dynamic", list(MOTIONS)),
        Factor("action", "dynamic", list(ACTIONS)),
        Factor("direction", "dynamic", list(DIRECTIONS)),
        *(Factor(layer, "static", list(OPTION_NAMES[layer])) for layer in LAYERS),
    ]


def character_options(s: np.ndarray | int) -> np.ndarray:
    """Character id(s) -> (..., 4) options (body, bottomwear, topwear, hair): ``s`` in base 6."""
    s = np.asarray(s, dtype=np.int64)
    return np.stack([s // 216, (s // 36) % 6, (s // 6) % 6, s % 6], -1)


def split_characters() -> dict[str, np.ndarray]:
    """The recipe's split: character ids of each split, in permutation order."""
    perm = np.random.RandomState(SPLIT_SEED).permutation(N_CHARACTERS)
    return {"train": perm[:N_TRAIN_CHARACTERS], "test": perm[N_TRAIN_CHARACTERS:]}


def sequence_labels(characters: np.ndarray) -> np.ndarray:
    """(N * 9, 7) labels, in the order of :func:`factors`, for each character's 9 motions."""
    motion = np.tile(np.arange(len(MOTIONS)), len(characters))  # (N * 9,)
    options = np.repeat(character_options(characters), len(MOTIONS), axis=0)  # (N * 9, 4)
    action, direction = motion // len(DIRECTIONS), motion % len(DIRECTIONS)
    return np.column_stack([motion, action, direction, options]).astype(np.int64)


def motion_cells(motion: int) -> list[tuple[int, int]]:
    """(sheet row, sheet column) of frames t = 0..7 of a motion label."""
    action, direction = ACTIONS[motion // len(DIRECTIONS)], DIRECTIONS[motion % len(DIRECTIONS)]
    row = SHEET_ROWS[action][direction]
    return [(row, col) for col in SHEET_COLUMNS[action]]


def cell_uses() -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Each distinct sheet cell (row, column) -> the (motion, frame) slots that show it (63 cells, 72 slots)."""
    uses: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for m in range(len(MOTIONS)):
        for t, cell in enumerate(motion_cells(m)):
            uses.setdefault(cell, []).append((m, t))
    return uses


def as_words(rgba: np.ndarray) -> np.ndarray:
    """(..., 4) uint8 RGBA pixels -> (...) uint32 words: a select then moves a whole pixel at once."""
    return rgba.view(np.uint32)[..., 0]


def as_rgba(words: np.ndarray) -> np.ndarray:
    """(...) uint32 words -> (..., 4) uint8 RGBA pixels (a view)."""
    return words[..., None].view(np.uint8)


def over(canvas: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """Composite RGBA ``layer`` (..., H, W, 4) over an opaque canvas of words (..., H, W), broadcasting.

    Over an opaque canvas, Pillow's ``Image.alpha_composite`` gives exactly
    round((src * a + dst * (255 - a)) / 255) per channel and keeps alpha 255 (checked against
    Pillow for all 2^24 (src, alpha, dst) triples in the tests). Opaque and clear pixels are a
    plain select; the rounded blend is computed only for layers with partial alpha (few cells).
    """
    alpha = layer[..., 3]
    out = np.where(alpha == 255, as_words(layer), canvas)
    partial = (alpha > 0) & (alpha < 255)
    if partial.any():
        a = alpha[..., None].astype(np.uint16)  # src * a + dst * (255 - a) <= 255 * 255 fits in 16 bits
        blend = np.full((*np.broadcast_shapes(canvas.shape, alpha.shape), 4), 255, dtype=np.uint8)
        blend[..., :3] = (layer[..., :3] * a + as_rgba(canvas)[..., :3] * (255 - a) + 127) // 255
        out = np.where(partial, as_words(blend), out)
    return out


def composite_cell(sheets: dict[str, np.ndarray], row: int, col: int) -> np.ndarray:
    """Cell (row, col) of every character: (1296, 64, 64, 3) uint8 RGB, indexed by character id."""
    window = np.s_[row * CELL : (row + 1) * CELL, col * CELL : (col + 1) * CELL]
    black = np.zeros((CELL, CELL, 4), dtype=np.uint8)
    black[..., 3] = 255
    canvas = as_words(black)  # (64, 64)
    for depth, layer in enumerate(LAYERS):
        options = np.stack([sheets[f"{layer}/{i}.png"][window] for i in range(N_OPTIONS)])  # (6, 64, 64, 4)
        # broadcast the canvases so far against this layer's options: ids' base-6 digits in order
        canvas = over(canvas[..., None, :, :], options.reshape((1,) * depth + options.shape))
    canvas = over(canvas, sheets[SHOES][window])  # (6, 6, 6, 6, 64, 64)
    # contiguous RGB: the per-split gathers that follow run several times faster on it
    return np.ascontiguousarray(as_rgba(canvas.reshape(N_CHARACTERS, CELL, CELL))[..., :3])


def build_sprites(out: str | Path, sheets_dir: str | Path, verify: bool = True, progress: bool = False) -> Path:
    """Write the Sprites data folder to ``out`` (atomically) from the sheets in ``sheets_dir``.

    Args:
        out: the data folder to write (an older build there is replaced only on success).
        sheets_dir: a folder with the layers' ``{layer}/{i}.png`` files (the repository's layout).
        verify: require every sheet to be the pinned file (its SHA-256); off for custom sheets.
        progress: show a progress bar on stderr.
    """
    sheets, sources = read_sheets(sheets_dir, verify=verify)
    characters = split_characters()
    with DataFolderWriter(out) as w:
        frames = {
            split: w.frames(split, (len(ids) * len(MOTIONS), N_FRAMES, CELL, CELL, 3), np.uint8)
            for split, ids in characters.items()
        }
        uses = cell_uses()
        for row, col in tqdm(uses, desc="sprites", unit="cell", disable=not progress):
            pixels = composite_cell(sheets, row, col)  # (1296, 64, 64, 3), by character id
            for split, ids in characters.items():
                for m, t in uses[(row, col)]:
                    frames[split][m :: len(MOTIONS), t] = pixels[ids]  # sequence i = (ids[i // 9], i % 9)
        for split, ids in characters.items():
            w.labels(split, sequence_labels(ids))
        info = DataInfo(
            name="sprites", layout="image", frame_shape=[CELL, CELL, 3], n_frames=N_FRAMES, dtype="uint8",
            splits={split: len(ids) * len(MOTIONS) for split, ids in characters.items()}, factors=factors(),
            recipe_version=RECIPE_VERSION, sources=sources,
            extra={
                "recipe": "DESIGN.md §3 (Li & Mandt 2018)", "sprites_commit": SPRITES_COMMIT, "verified": verify,
                "split_seed": SPLIT_SEED, "characters": {split: ids.tolist() for split, ids in characters.items()},
            },
        )  # fmt: skip
        return w.commit(info)
