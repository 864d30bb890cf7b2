"""Line charts as inline SVG text, for the report's training curves (no plotting library).

A chart has one or more named series of (x, y) points, axes with round-number ticks, and a
legend. The y axis turns logarithmic when every value is positive and they span more than
``LOG_SPAN`` (a loss that starts in the thousands and ends in the tens).
"""

from __future__ import annotations

import html
import math

WIDTH, HEIGHT = 520, 260  # pixels of the whole chart
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 40, 36  # margins holding the title and legend, ticks and labels
LOG_SPAN = 30.0  # max/min beyond which the y axis is logarithmic
COLOURS = ("#1f5fbf", "#d9531e", "#2a9d5c", "#8e44ad", "#b8860b", "#444444")  # series colours, in order

Series = dict[str, list[tuple[float, float]]]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round values (1, 2 or 5 times a power of ten apart) covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def fmt(v: float) -> str:
    """A tick label: compact, no trailing zeros."""
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
        return f"{v:.0e}"
    if abs(v) >= 1 and float(v).is_integer():
        return f"{v:.0f}"  # 60000 rather than 6e+04
    return f"{v:.4g}"


class Axis:
    """Maps data values to pixels along one axis (linear or log10)."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float, log: bool = False) -> None:
        self.log = log
        f = math.log10 if log else (lambda v: v)
        self.lo, self.hi = f(lo), f(hi)
        if self.hi <= self.lo:  # a constant series: a band around it, sized to the value (an lr of 1e-3 too)
            pad = 0.1 * abs(self.lo) or 0.5
            self.lo, self.hi = self.lo - pad, self.hi + pad
        self.p0, self.p1 = p0, p1

    def __call__(self, v: float) -> float:
        t = ((math.log10(v) if self.log else v) - self.lo) / (self.hi - self.lo)
        return self.p0 + t * (self.p1 - self.p0)

    def ticks(self) -> list[float]:
        if not self.log:
            return nice_ticks(self.lo, self.hi)
        decades = [10.0**e for e in range(math.ceil(self.lo - 1e-9), math.floor(self.hi + 1e-9) + 1)]
        if len(decades) >= 2:
            return decades
        # less than a decade: 1-2-5 steps, or round values on a linear grid when even those are too sparse
        steps = [m * 10.0**e for e in range(math.floor(self.lo) - 1, math.ceil(self.hi) + 1) for m in (1, 2, 5)]
        inside = [v for v in steps if self.lo - 1e-9 <= math.log10(v) <= self.hi + 1e-9]
        return inside if len(inside) >= 3 else nice_ticks(10**self.lo, 10**self.hi)


def line_chart(
    title: str,
    series: Series,
    x_label: str = "step",
    y_range: tuple[float, float] | None = None,
    log: bool | None = None,
    log_x: bool = False,
) -> str:
    """An SVG chart of the non-empty series (each a list of (x, y)); non-finite points are dropped.

    ``y_range`` fixes a linear y axis (e.g. (0, 1) for accuracies) instead of fitting the data.
    ``log``: True asks for a log y axis (kept linear if a value is <= 0), False forbids it, None
    decides from the data's span (``LOG_SPAN``). ``log_x``: a log x axis (kept linear if an x is <= 0).
    """
    clean = {k: [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)] for k, pts in series.items()}
    clean = {k: v for k, v in clean.items() if v}
    esc = html.escape
    head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" class="chart">'
    parts = [head, f"<title>{esc(title)}</title>",
             f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{esc(title)}</text>']  # fmt: skip
    if not clean:
        parts.append(f'<text x="{LEFT}" y="{HEIGHT // 2}" font-size="12">no data</text></svg>')
        return "".join(parts)
    xs = [x for pts in clean.values() for x, _ in pts]
    ys = [y for pts in clean.values() for _, y in pts]
    positive = min(ys) > 0
    wide = positive and max(ys) / min(ys) > LOG_SPAN
    log = y_range is None and positive and (wide if log is None else log)
    y_lo, y_hi = y_range or (min(ys), max(ys))
    ax = Axis(min(xs), max(xs), LEFT, WIDTH - RIGHT, log=log_x and min(xs) > 0)
    ay = Axis(y_lo, y_hi, HEIGHT - BOTTOM, TOP, log=log)
    parts += axes(ax, ay, x_label)
    lx = LEFT  # the legend runs along one line between the title and the plot
    for i, (name, pts) in enumerate(clean.items()):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{ax(x):.1f},{ay(y):.1f}" for x, y in sorted(pts))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        parts.append(f'<rect x="{lx}" y="{TOP - 12}" width="10" height="3" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="{TOP - 7}" font-size="11">{esc(name)}</text>')
        lx += 14 + 7 * len(name) + 12  # about 7 px per character at 11 px
    parts.append("</svg>")
    return "".join(parts)


def axes(ax: Axis, ay: Axis, x_label: str) -> list[str]:
    """The frame, grid lines and tick labels of a chart."""
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP
    out = [f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="none" stroke="#999"/>']
    for v in ay.ticks():
        y = ay(v)
        if y1 - 0.5 <= y <= y0 + 0.5:
            out.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>')
            out.append(f'<text x="{x0 - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{fmt(v)}</text>')
    for v in ax.ticks():
        x = ax(v)
        if x0 - 0.5 <= x <= x1 + 0.5:
            out.append(f'<text x="{x:.1f}" y="{y0 + 14}" font-size="10" text-anchor="middle">{fmt(v)}</text>')
    out.append(f'<text x="{(x0 + x1) / 2:.0f}" y="{HEIGHT - 6}" font-size="11" text-anchor="middle">'
               f"{html.escape(x_label)}</text>")  # fmt: skip
    return out
