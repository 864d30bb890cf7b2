"""Sprites: pixels against an independent Pillow composite, labels, split and frame order (DESIGN.md §3)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dsvae.data import open_dataset
from dsvae.data.sprites import as_rgba, as_words, over

# The recipe, restated here from DESIGN.md §3 independently of the package's tables.
ACTIONS = ["walk", "spellcard", "slash"]
DIRECTIONS = ["front", "left", "right"]  # label order
ROWS_LEFT_FRONT_RIGHT = {"spellcard": (1, 2, 3), "walk": (9, 10, 11), "slash": (13, 14, 15)}
COLUMNS = {"walk": [8, 1, 2, 3, 4, 5, 6, 7], "spellcard": [0, 1, 2, 3, 4, 5, 4, 6], "slash": [0, 1, 2, 3, 4, 5, 4, 0]}
# characters to check: both splits, every option of every layer, and topwear 3 (the one layer with partial alpha)
SAMPLED = [0, 1295, 3 * 6, 216 + 36 * 2 + 6 * 3 + 4, 2 * 216 + 3 * 6 + 5, 5 * 216 + 36 * 5 + 6 * 3 + 1, 777, 1000]


@cache
def layer(sheets: Path, name: str) -> Image.Image:
    with Image.open(sheets / name) as image:
        return image.convert("RGBA")


def pillow_frame(sheets: Path, character: int, motion: int, t: int) -> np.ndarray:
    """Frame t of a character's motion, composited by Pillow straight from the recipe."""
    body, bottom, top, hair = character // 216, (character // 36) % 6, (character // 6) % 6, character % 6
    action, direction = ACTIONS[motion // 3], DIRECTIONS[motion % 3]
    row = ROWS_LEFT_FRONT_RIGHT[action][["left", "front", "right"].index(direction)]
    col = COLUMNS[action][t]
    box = (col * 64, row * 64, col * 64 + 64, row * 64 + 64)
    canvas = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
    layers = [f"body/{body}.png", f"bottomwear/{bottom}.png", f"topwear/{top}.png", f"hair/{hair}.png", "shoes/1.png"]
    for name in layers:
        canvas = Image.alpha_composite(canvas, layer(sheets, name).crop(box))
    return np.asarray(canvas.convert("RGB"))


def find_sequence(folder: Path, character: int, motion: int) -> tuple[str, int]:
    """(split, index) of a character's motion, looked up by its labels alone."""
    options = [character // 216, (character // 36) % 6, (character // 6) % 6, character % 6]
    want = [motion, motion // 3, motion % 3, *options]
    for split in ("train", "test"):
        hits = np.flatnonzero((open_dataset(folder, split).labels == want).all(axis=1))
        if len(hits):
            assert len(hits) == 1
            return split, int(hits[0])
    raise AssertionError(f"character {character} motion {motion} is in no split")


def test_over_matches_pillow_for_every_value() -> None:
    """The vectorised composite equals Pillow's for all (src, alpha, dst) over an opaque canvas."""
    v = np.arange(256, dtype=np.uint8)
    src, alpha, dst = np.repeat(v, 65536), np.tile(np.repeat(v, 256), 256), np.tile(v, 65536)  # all 2^24 triples
    shape = (4096, 4096)
    layer_px = np.stack([src, 255 - src, src // 2, alpha], -1).reshape(*shape, 4)
    canvas_px = np.stack([dst, dst // 3, 255 - dst, np.full_like(dst, 255)], -1).reshape(*shape, 4)
    expected = Image.alpha_composite(Image.fromarray(canvas_px, "RGBA"), Image.fromarray(layer_px, "RGBA"))
    got = as_rgba(over(as_words(canvas_px), layer_px))
    np.testing.assert_array_equal(got, np.asarray(expected))


@pytest.mark.slow
def test_pixels_equal_an_independent_pillow_composite(sprites_folder: Path, sheets_dir: Path) -> None:
    for character in SAMPLED:
        for motion in range(9):
            split, i = find_sequence(sprites_folder, character, motion)
            frames = open_dataset(sprites_folder, split).frames[i]  # (8, 64, 64, 3)
            for t in range(8):
                expected = pillow_frame(sheets_dir, character, motion, t)
                assert np.array_equal(frames[t], expected), f"character {character} motion {motion} frame {t}"


@pytest.mark.slow
def test_split_by_character_with_the_recipe_permutation(sprites_folder: Path) -> None:
    perm = np.random.RandomState(423).permutation(1296)
    expected = {"train": set(perm[:1000].tolist()), "test": set(perm[1000:].tolist())}
    sizes = {"train": 9000, "test": 2664}
    for split in ("train", "test"):
        labels = open_dataset(sprites_folder, split).labels
        assert labels.shape == (sizes[split], 7)
        ids = labels[:, 3] * 216 + labels[:, 4] * 36 + labels[:, 5] * 6 + labels[:, 6]
        assert set(ids.tolist()) == expected[split]
        for character in expected[split]:  # all 9 motions of each character, once each
            assert sorted(labels[ids == character, 0].tolist()) == list(range(9))
        np.testing.assert_array_equal(labels[:, 0], 3 * labels[:, 1] + labels[:, 2])  # motion = 3 action + direction
        for k, n_classes in enumerate([9, 3, 3, 6, 6, 6, 6]):  # every class of every factor in both splits
            assert sorted(set(labels[:, k].tolist())) == list(range(n_classes))


@pytest.mark.slow
def test_meta_describes_the_set(sprites_folder: Path) -> None:
    info = open_dataset(sprites_folder, "test").info
    assert [(f.name, f.kind, f.n_classes) for f in info.factors] == [
        ("motion", "dynamic", 9), ("action", "dynamic", 3), ("direction", "dynamic", 3),
        ("body", "static", 6), ("bottomwear", "static", 6), ("topwear", "static", 6), ("hair", "static", 6),
    ]  # fmt: skip
    assert info.factors[0].classes[0] == "walk-front" and info.factors[0].classes[8] == "slash-right"
    assert info.dtype == "uint8" and info.frame_shape == [64, 64, 3] and info.n_frames == 8
    assert len(info.sources) == 25 and all(v.startswith("sha256:") for v in info.sources.values())
    size = sum((sprites_folder / s / "frames.npy").stat().st_size for s in ("train", "test"))
    assert abs(size / 2**30 - 1.07) < 0.01


@pytest.mark.slow
def test_frame_order_repeats_spellcard_and_slash_frames(sprites_folder: Path) -> None:
    data = open_dataset(sprites_folder, "train")
    for motion in range(9):
        x = data.frames[int(np.flatnonzero(data.labels[:, 0] == motion)[0])]  # (8, 64, 64, 3)
        action = ACTIONS[motion // 3]
        if action == "walk":  # eight different cells
            assert len({x[t].tobytes() for t in range(8)}) == 8
        else:  # column 4 again at t=6; slash returns to column 0 at t=7
            assert np.array_equal(x[6], x[4]) and not np.array_equal(x[5], x[6])
            assert np.array_equal(x[7], x[0]) == (action == "slash")
