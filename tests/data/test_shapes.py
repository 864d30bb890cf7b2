"""The synthetic ``shapes`` set: content constant within a sequence, motion as labelled, every class drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dsvae.data import open_dataset
from dsvae.data.shapes import (
    COLOURS,
    DIRECTIONS,
    RECIPE_VERSION,
    SHAPES,
    SIZE,
    SPEEDS,
    WOBBLE,
    build_shapes,
    read_colour,
    read_motion,
    read_shape,
    shape_mask,
)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shapes(tmp_path_factory.mktemp("shapes") / "shapes", n_train=200, n_test=20, seed=3)


def lit(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) bool: the pixels the shape covers."""
    return frame.max(axis=-1) > 0


def test_the_default_set_is_32x32_with_its_recipe(shapes: Path) -> None:
    info = open_dataset(shapes, "train").info
    assert info.frame_shape == [32, 32, 3] and info.n_frames == 8 and info.recipe_version == RECIPE_VERSION
    assert [f.name for f in info.factors if f.kind == "static"] == ["shape", "colour"]


def test_content_is_constant_within_a_sequence_and_follows_the_labels(shapes: Path) -> None:
    data = open_dataset(shapes, "train")
    colours = np.array(list(COLOURS.values()))
    areas = {i: int(shape_mask(s).sum()) for i, s in enumerate(SHAPES)}
    for n in range(len(data)):
        frames, (_, _, _, shape, colour) = np.asarray(data.frames[n]), data.labels[n]
        for frame in frames:
            on = lit(frame)
            assert on.sum() == areas[shape]  # the whole shape, never clipped by the canvas
            assert (frame[on] == colours[colour]).all()  # one flat colour, the labelled one


def centres(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) -> (T, 2): each frame's centre of the lit pixels as (y, x)."""
    return np.array([np.argwhere(lit(f)).mean(axis=0) for f in frames])


def test_motion_is_the_labelled_direction_and_speed_with_a_sideways_wobble(shapes: Path) -> None:
    data = open_dataset(shapes, "train")
    steps, speeds = list(DIRECTIONS.values()), list(SPEEDS.values())
    sideways = []
    for n in range(len(data)):
        frames, (motion, direction, speed, _, _) = np.asarray(data.frames[n]), data.labels[n]
        assert motion == direction * len(SPEEDS) + speed
        c = centres(frames)  # (T, 2) as (y, x)
        step = np.array(steps[direction]) * speeds[speed]
        along = int(np.flatnonzero(step)[0])
        np.testing.assert_allclose(np.diff(c[:, along]), step[along])  # the labelled step, every frame
        sideways.append(np.ptp(c[:, 1 - along]))  # how far the shape strays across its direction
    assert max(sideways) == pytest.approx(2 * WOBBLE)  # never further than the wobble either way of a straight line ...
    assert np.mean(np.array(sideways) > 0) > 0.9  # ... and hardly ever straight (2 * WOBBLE + 1 shifts a frame)


def test_without_wobble_the_paths_are_straight(tmp_path: Path) -> None:
    data = open_dataset(build_shapes(tmp_path / "s", n_train=30, n_test=2, wobble=0), "train")
    steps, speeds = list(DIRECTIONS.values()), list(SPEEDS.values())
    for n in range(len(data)):
        frames, (_, direction, speed, _, _) = np.asarray(data.frames[n]), data.labels[n]
        expected = np.array(steps[direction]) * speeds[speed]
        np.testing.assert_allclose(np.diff(centres(frames), axis=0), np.broadcast_to(expected, (len(frames) - 1, 2)))


def test_every_class_of_every_factor_occurs(shapes: Path) -> None:
    data = open_dataset(shapes, "train")
    for k, factor in enumerate(data.info.factors):
        assert set(np.unique(data.labels[:, k])) == set(range(len(factor.classes))), factor.name


def test_same_seed_same_set_and_another_seed_another(tmp_path: Path) -> None:
    a = open_dataset(build_shapes(tmp_path / "a", n_train=8, n_test=2, seed=5), "train")
    b = open_dataset(build_shapes(tmp_path / "b", n_train=8, n_test=2, seed=5), "train")
    c = open_dataset(build_shapes(tmp_path / "c", n_train=8, n_test=2, seed=6), "train")
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.frames, c.frames)


def test_a_path_that_leaves_the_canvas_is_refused(tmp_path: Path) -> None:
    fast = max(SPEEDS.values())
    too_many = (32 - SIZE) // fast + 2  # the fast motion would cross more than the free pixels
    with pytest.raises(ValueError, match="do not fit"):
        build_shapes(tmp_path / "x", n_train=2, n_test=2, n_frames=too_many)
    assert not (tmp_path / "x").exists()


def as_model_frames(frames: np.ndarray) -> np.ndarray:
    """(N, T, H, W, 3) uint8 -> (N, T, 3, H, W) in [0, 1], what a model decodes."""
    return np.asarray(frames).transpose(0, 1, 4, 2, 3) / 255.0


def test_the_closed_form_readers_name_every_real_sequence(shapes: Path) -> None:
    data = open_dataset(shapes, "train")
    x = as_model_frames(data.frames[:])
    assert (read_motion(x) == data.labels[:, 0]).all()
    assert (read_colour(x) == data.labels[:, 4]).all()
    assert (read_shape(x) == data.labels[:, 3]).all()
    assert set(data.labels[:, 3]) == set(range(len(SHAPES)))  # every shape was read, not one guessed


def test_the_readers_survive_faint_and_blurred_shapes_and_see_time_reversed(shapes: Path) -> None:
    data = open_dataset(shapes, "train")
    x = as_model_frames(data.frames[:])
    faint = 0.2 * x  # a decoder that draws too dimly
    blurred = sum(np.roll(np.roll(x, dy, -2), dx, -1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
    for y in (faint, blurred):
        assert (read_motion(y) == data.labels[:, 0]).all() and (read_colour(y) == data.labels[:, 4]).all()
        assert (read_shape(y) == data.labels[:, 3]).all()
    # played backwards, every sequence moves the opposite way at the same speed
    opposite = {0: 1, 1: 0, 2: 3, 3: 2}
    direction, speed = data.labels[:, 1], data.labels[:, 2]
    expected = np.array([opposite[d] for d in direction]) * len(SPEEDS) + speed
    assert (read_motion(x[:, ::-1]) == expected).all()


def test_the_colour_reader_reads_a_mixed_colour_as_the_dominant_one() -> None:
    x = np.zeros((1, 2, 3, 8, 8))
    x[0, :, 0, :4] = 1.0  # red on half the canvas
    x[0, :, 1, :1] = 1.0  # green on an eighth, overlapping the red: yellow there
    assert list(COLOURS)[read_colour(x)[0]] == "red"


@pytest.mark.parametrize("shape", SHAPES)
def test_the_shape_reader_prefers_the_drawn_mask_to_one_that_covers_it_or_fits_inside(shape: str) -> None:
    # one shape, once bright and once faint, on a canvas shared with noise the masks cannot explain
    x = np.random.default_rng(0).uniform(0, 0.05, size=(2, 3, 3, 32, 32))
    for n, brightness in enumerate((1.0, 0.3)):
        for t in range(3):
            x[n, t, :, 4 + 3 * t : 4 + 3 * t + SIZE, 9 : 9 + SIZE][:, shape_mask(shape)] = brightness
    assert [SHAPES[k] for k in read_shape(x)] == [shape, shape]
