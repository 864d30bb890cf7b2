"""The report's tables: the content summary from ``metrics.json``, and Markdown tables as HTML.

Every string that reaches the page goes through :func:`html.escape`, numbers included (they
are formatted first), so a hostile name in a metrics or index file stays text.

The content table reads the keys ``dsvae evaluate`` writes today (``factors.static``,
``dynamics_resampled.accuracy``, ``reconstruction.accuracy``, ``real.accuracy``); when they are
missing (an older or newer metrics file) the table is left out and the Markdown tables of
``metrics.md``, rendered generically whatever they hold, still carry the results.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any


def esc(value: Any) -> str:
    """Any value as HTML text (attributes included)."""
    return html.escape(str(value), quote=True)


def inline_md(text: str) -> str:
    """Escape HTML, then `code` spans."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(text))


def table_cells(line: str) -> list[str]:
    """Cells of a Markdown table row; ``\\|`` is a literal bar inside a cell."""
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [c.strip().replace("\\|", "|") for c in cells]


def html_table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    """Cells are Markdown-inline text (escaped here)."""
    head = "".join(f"<th>{inline_md(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{inline_md(c)}</td>" for c in r) + "</tr>" for r in rows)
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def markdown_to_html(md: str) -> str:
    """The Markdown subset ``metrics.md`` uses: headings, paragraphs, tables, inline code."""
    out = []
    for block in md.split("\n\n"):
        lines = [ln for ln in block.strip().splitlines() if ln.strip()]
        if not lines:
            continue
        if lines[0].startswith("# "):
            continue  # the document title: the report's own section heading stands for it
        if lines[0].startswith("#"):
            level = min(len(lines[0]) - len(lines[0].lstrip("#")) + 1, 4)  # one level below the report's h2
            out.append(f"<h{level}>{inline_md(lines[0].lstrip('#').strip())}</h{level}>")
        elif lines[0].startswith("|"):
            rows = [table_cells(ln) for ln in lines if not re.fullmatch(r"\|?[\s|:-]+\|?", ln)]
            out.append(html_table(rows[0], rows[1:]))
        else:
            out.append(f"<p>{inline_md(' '.join(lines))}</p>")
    return "\n".join(out)


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
        + html_table(header, rows, "content")
    )
