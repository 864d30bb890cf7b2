"""One model of a results document (headings, paragraphs, tables), rendered as Markdown or HTML.

``dsvae evaluate`` builds its tables once as blocks; ``metrics.md`` is their Markdown and the
report their HTML, and the benchmarks write their tables through the same model. Text uses
the Markdown inline subset the package writes: `code` spans; a ``|`` inside a cell is escaped
in Markdown. In HTML every string is escaped (numbers included, they are formatted first), so a
hostile name in a metrics file stays text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Heading:
    text: str
    level: int = 2  # 1 is the document's title


@dataclass
class Paragraph:
    text: str  # may hold newlines: Markdown keeps them, HTML reads them as spaces


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    cls: str = ""  # HTML class of the table


Block = Heading | Paragraph | Table


# -- Markdown ---------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def table_lines(t: Table) -> list[str]:
    """A table as Markdown lines."""
    lines = ["| " + " | ".join(map(_md_cell, t.header)) + " |", "|" + "|".join("---" for _ in t.header) + "|"]
    return lines + ["| " + " | ".join(map(_md_cell, r)) + " |" for r in t.rows]


def to_markdown(blocks: Iterable[Block]) -> str:
    """The blocks as one Markdown document, a blank line between blocks."""
    parts = []
    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"{'#' * b.level} {b.text}")
        elif isinstance(b, Paragraph):
            parts.append(b.text)
        else:
            parts.append("\n".join(table_lines(b)))
    return "\n\n".join(parts) + "\n"


def table_cells(line: str) -> list[str]:
    """Cells of a Markdown table row; ``\\|`` is a literal bar inside a cell."""
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [c.strip().replace("\\|", "|") for c in cells]


def parse_markdown(md: str) -> list[Block]:
    """The Markdown subset :func:`to_markdown` writes, read back (for documents kept only as Markdown)."""
    blocks: list[Block] = []
    for chunk in md.split("\n\n"):
        lines = [ln for ln in chunk.strip().splitlines() if ln.strip()]
        if not lines:
            continue
        if lines[0].startswith("#"):
            level = len(lines[0]) - len(lines[0].lstrip("#"))
            blocks.append(Heading(lines[0].lstrip("#").strip(), level))
        elif lines[0].startswith("|"):
            rows = [table_cells(ln) for ln in lines if not re.fullmatch(r"\|?[\s|:-]+\|?", ln)]
            blocks.append(Table(rows[0], rows[1:]))
        else:
            blocks.append(Paragraph("\n".join(lines)))
    return blocks


# -- HTML -------------------------------------------------------------------------------------


def esc(value: object) -> str:
    """Any value as HTML text (attributes included)."""
    return html.escape(str(value), quote=True)


def inline_html(text: str) -> str:
    """Escape HTML, then `code` spans."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(text))


def html_table(t: Table) -> str:
    head = "".join(f"<th>{inline_html(c)}</th>" for c in t.header)
    body = "".join("<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in r) + "</tr>" for r in t.rows)
    attr = f' class="{esc(t.cls)}"' if t.cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(blocks: Iterable[Block], below: int = 0) -> str:
    """The blocks as HTML; headings ``below`` levels deeper (a section inside a page), at most h6."""
    out = []
    for b in blocks:
        if isinstance(b, Heading):
            level = min(b.level + below, 6)
            out.append(f"<h{level}>{inline_html(b.text)}</h{level}>")
        elif isinstance(b, Paragraph):
            out.append(f"<p>{inline_html(' '.join(b.text.splitlines()))}</p>")
        else:
            out.append(html_table(b))
    return "\n".join(out)
