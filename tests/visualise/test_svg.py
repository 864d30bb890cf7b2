"""Inline SVG line charts: ticks, scales, what is drawn."""

from __future__ import annotations

import math
import re

import pytest

from dsvae.visualise.svg import BOTTOM, HEIGHT, LEFT, TOP, WIDTH, Axis, line_chart, nice_ticks


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(0.13, 0.91) == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert nice_ticks(5, 5) == pytest.approx([5, 5.2, 5.4, 5.6, 5.8, 6])  # a flat series still gets a range


def test_axis_maps_the_ends_to_the_pixels() -> None:
    ax = Axis(0, 10, 100, 200)
    assert (ax(0), ax(5), ax(10)) == (100, 150, 200)
    log = Axis(1, 1000, 0, 300, log=True)
    assert log(10) == 100 and log.ticks() == [1, 10, 100, 1000]


def test_chart_draws_one_line_per_series_and_skips_non_finite_points() -> None:
    svg = line_chart("loss", {"train": [(0, 3.0), (1, 2.0), (2, float("nan")), (3, 1.0)], "test": [(1, 2.5)]})
    lines = re.findall(r'<polyline [^>]*points="([^"]+)"', svg)
    assert len(lines) == 2 and len(lines[0].split()) == 3 and len(lines[1].split()) == 1
    assert svg.startswith("<svg") and svg.endswith("</svg>") and ">train</text>" in svg
    x0, y0 = (float(v) for v in lines[0].split()[0].split(","))
    assert x0 == LEFT and math.isclose(y0, TOP)  # the first point is the top-left corner (the maximum)
    assert f'width="{WIDTH}" height="{HEIGHT}"' in svg


def test_a_loss_spanning_decades_gets_a_log_axis() -> None:
    svg = line_chart("loss", {"train": [(0, 10000.0), (1, 100.0), (2, 10.0)]})
    assert ">10000</text>" in svg and ">100</text>" in svg and ">10</text>" in svg  # decade ticks
    assert ">1e+06</text>" in line_chart("big", {"a": [(0, 1e6), (1, 1e8)]})  # exponents from a million on


def test_a_fixed_y_range_is_linear_and_places_points_within_it() -> None:
    svg = line_chart("acc", {"a": [(0, 0.002), (1, 0.5), (2, 1.0)]}, y_range=(0.0, 1.0))
    ys = [float(p.split(",")[1]) for p in re.findall(r'<polyline [^>]*points="([^"]+)"', svg)[0].split()]
    assert math.isclose(ys[2], TOP) and math.isclose(ys[1], (TOP + HEIGHT - BOTTOM) / 2)  # linear: 0.5 halfway
    assert ">0</text>" in svg and ">1</text>" in svg and ">0.01</text>" not in svg  # no log decades


def test_chart_without_data_says_so() -> None:
    assert "no data" in line_chart("empty", {"train": []})
    assert "&lt;b&gt;" in line_chart("<b>", {"a": [(0, 1.0)]})  # titles are escaped


def test_a_constant_series_gets_ticks_near_its_value() -> None:
    ticks = Axis(1e-3, 1e-3, 0, 100).ticks()
    assert len(ticks) >= 3 and all(8e-4 <= t <= 1.2e-3 for t in ticks)
