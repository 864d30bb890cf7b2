"""The report's tables: the evaluation from ``metrics.json`` and a content summary, as HTML.

The tables are the blocks ``dsvae evaluate`` builds for ``metrics.md`` (dsvae.evaluate.tables),
rendered as HTML by the one table model (dsvae.tables). Every string that reaches the page is
escaped there, numbers included (they are formatted first), so a hostile name in a metrics or
index file stays text.

A ``metrics.json`` that today's tables cannot read (written by an older or newer version) is
shown from its ``metrics.md``, read back into the same blocks, whatever tables it holds; the
content summary is then left out when its keys are missing.
"""

from __future__ import annotations

import math
from typing import Any

from dsvae.evaluate.tables import blocks
from dsvae.tables import Block, Heading, Table, esc, html_table, parse_markdown, table_cells, to_html

__all__ = ["content_table", "esc", "evaluation_html", "markdown_to_html", "table_cells"]


def section(doc: list[Block]) -> str:
    """A document as a section of the page: its title dropped (the report's h2 stands for it), headings one
    level down."""
    return to_html([b for b in doc if not (isinstance(b, Heading) and b.level == 1)], below=1)


def markdown_to_html(md: str) -> str:
    """The Markdown ``metrics.md`` holds, as HTML: headings, paragraphs, tables, inline code."""
    return section(parse_markdown(md))


def evaluation_html(metrics: dict[str, Any]) -> str | None:
    """Every table of the evaluation, from ``metrics.json``; None if this version cannot read it."""
    try:
        return section(blocks(metrics))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None


def _mean(node: Any) -> float:
    """A metric that is a plain number or a {"mean", "std"} over draws."""
    return float(node["mean"]) if isinstance(node, dict) else float(node)


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def content_table(metrics: dict[str, Any], n_classes: dict[str, int]) -> str:
    """Content kept (f kept, z_1:T resampled) per static factor, between a chance row and a ceiling row.

    Args:
        metrics: the parsed ``RUN/eval/metrics.json``.
        n_classes: classes per factor (from the data folder); the chance row needs them.

    Returns:
        An HTML table, or "" when ``metrics`` lacks the keys.
    """
    try:
        static = list(metrics["factors"]["static"])
        resampled = metrics["dynamics_resampled"]
        rows = [
            ["this run: f kept, new z_1:T", *(_pct(_mean(resampled["accuracy"][f])) for f in static)],
            ["ceiling: the judge on reconstructions",
             *(_pct(_mean(metrics["reconstruction"]["accuracy"][f])) for f in static)],
            ["the judge on the real sequences", *(_pct(_mean(metrics["real"]["accuracy"][f])) for f in static)],
        ]  # fmt: skip
        joint = _mean(resampled["joint_static_accuracy"]) if "joint_static_accuracy" in resampled else None
    except (KeyError, TypeError, ValueError):
        return ""
    known = bool(static) and all(n_classes.get(f, 0) > 0 for f in static)
    rows.append(["chance: a uniform guess", *(_pct(1 / n_classes[f]) if known else "n/a" for f in static)])
    header = ["", *(f"`{f}`" for f in static)]
    if joint is not None:
        header.append("all together")
        rows[0].append(_pct(joint))
        rows[1].append("")
        rows[2].append("")
        rows[3].append(_pct(math.prod(1 / n_classes[f] for f in static)) if known else "n/a")
    return (
        "<h3>Content kept, at a glance</h3>"
        "<p>The judge's accuracy on each static attribute when a sequence keeps its f and gets new dynamics; "
        "a model cannot beat the judge on its own reconstructions (ceiling), and a uniform guess is chance.</p>"
        + html_table(Table(header, rows, "content"))
    )
