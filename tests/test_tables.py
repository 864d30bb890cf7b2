"""The one table model: Markdown and HTML of the same blocks."""

from __future__ import annotations

from dsvae.tables import Heading, Paragraph, Table, parse_markdown, to_html, to_markdown

DOC = [
    Heading("Title", 1),
    Paragraph("Run `r`;\nsecond line."),
    Heading("Scores"),
    Table(["", "H(y|x)", "Acc"], [["`a`", "0.5", "90%"], ["<b>x</b>", "1", "2"]]),
]


def test_markdown_reads_back_into_the_same_blocks() -> None:
    md = to_markdown(DOC)
    assert "| `a` | 0.5 | 90% |" in md and "H(y\\|x)" in md  # the bar is escaped inside a cell
    assert parse_markdown(md) == DOC


def test_html_escapes_every_string_and_shifts_headings() -> None:
    page = to_html(DOC, below=1)
    assert "<h2>Title</h2>" in page and "<h3>Scores</h3>" in page
    assert "<th>H(y|x)</th>" in page and "<td><code>a</code></td>" in page
    assert "<b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<p>Run <code>r</code>; second line.</p>" in page
