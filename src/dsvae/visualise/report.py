"""``dsvae report``: one self-contained HTML page about a run (``RUN/report.html``).

Sections: the resolved config; training curves drawn as inline SVG from ``RUN/metrics.jsonl``;
the evaluation tables of ``RUN/eval/metrics.md`` (the literature beside the run); every
picture of ``RUN/show/`` (made first if missing) and the latest training samples. Pictures
and sounds are inlined as base64 data URIs, so the page is one file that opens anywhere.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from pathlib import Path
from typing import Any

from dsvae.config import to_dict
from dsvae.evaluate.protocol import EVAL_DIR
from dsvae.io import atomic_write, read_json
from dsvae.train.run_folder import SAMPLES, read_metrics, read_run_config
from dsvae.visualise.show import INDEX, SHOW_DIR, ShowConfig, show_run
from dsvae.visualise.svg import Series, line_chart

REPORT_NAME = "report.html"
MIME = {".png": "image/png", ".gif": "image/gif", ".wav": "audio/wav"}
CHARTS = [  # (title, metric keys); other numeric keys of the training records get a chart each
    ("Negative ELBO (loss), nats per sequence", ["loss"]),
    ("Reconstruction term", ["recon"]),
    ("KL terms", ["kl_f", "kl_z"]),
]
NOT_CHARTED = {"step", "split", "time", "elbo"}  # bookkeeping, or the loss again with its sign flipped
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; } th { background: #f3f3f3; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: .85em; }
img { image-rendering: pixelated; border: 1px solid #eee; margin: .3em .6em .3em 0; vertical-align: top; }
.media { overflow-x: auto; white-space: nowrap; }
figure { margin: 1em 0 2em 0; } figcaption { color: #555; font-size: .92em; margin-top: .3em; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; } .note { color: #777; }
"""


def data_uri(path: Path) -> str:
    mime = MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def inline_md(text: str) -> str:
    """Escape HTML, then `code` spans."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def table_cells(line: str) -> list[str]:
    """Cells of a Markdown table row; ``\\|`` is a literal bar inside a cell."""
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [c.strip().replace("\\|", "|") for c in cells]


def markdown_to_html(md: str) -> str:
    """The Markdown subset ``metrics.md`` uses: headings, paragraphs, tables, inline code."""
    out, rows = [], []
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
            head = "".join(f"<th>{inline_md(c)}</th>" for c in rows[0])
            body = "".join("<tr>" + "".join(f"<td>{inline_md(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            out.append(f"<p>{inline_md(' '.join(lines))}</p>")
    return "\n".join(out)


def curves(records: list[dict[str, Any]]) -> str:
    """Training curves as SVG charts, train and test series side by side."""
    if not records:
        return '<p class="note">No training metrics (metrics.jsonl is missing or empty).</p>'

    def numeric(key: str) -> bool:
        return any(isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool) for r in records)

    keys = [k for r in records for k in r if k not in NOT_CHARTED]
    charted = {k for _, ks in CHARTS for k in ks}
    extra = [(k, [k]) for k in dict.fromkeys(keys) if k not in charted and numeric(k)]
    svgs = []
    for title, names in [*CHARTS, *extra]:
        series: Series = {}
        for name in names:
            for split in ("train", "test"):
                rows = [r for r in records if r.get("split") == split and "step" in r]
                pts = [(float(r["step"]), float(r[name])) for r in rows if isinstance(r.get(name), (int, float))]
                if pts:
                    series[f"{name} ({split})"] = pts
        if series:
            svgs.append(line_chart(title, series))
    return f'<div class="charts">{"".join(svgs)}</div>'


def pictures(run: Path) -> str:
    """Every picture of ``RUN/show`` with its caption, then the latest training samples."""
    parts = []
    index = run / SHOW_DIR / INDEX
    if index.is_file():
        for entry in read_json(index, what="picture index").get("pictures", []):
            media = []
            # the animation first (the whole matrix at a glance), then the still with every frame
            for name in sorted(entry.get("files", []), key=lambda f: not f.endswith(".gif")):
                path = run / SHOW_DIR / name
                if not path.is_file():
                    continue
                if path.suffix == ".wav":
                    media.append(f'<div>{html.escape(name)}: <audio controls src="{data_uri(path)}"></audio></div>')
                else:
                    media.append(f'<img src="{data_uri(path)}" alt="{html.escape(entry["title"])}">')
            title, caption = html.escape(entry["title"]), inline_md(entry.get("caption", ""))
            parts.append(f'<figure><h3>{title}</h3><div class="media">{"".join(media)}</div>'
                         f"<figcaption>{caption}</figcaption></figure>")  # fmt: skip
    samples = sorted((run / SAMPLES).glob("*_recon.png")) if (run / SAMPLES).is_dir() else []
    if samples:
        tag = samples[-1].name.removesuffix("_recon.png")
        latest = sorted((run / SAMPLES).glob(f"{tag}_*.png"))
        imgs = "".join(f'<img src="{data_uri(p)}" alt="{p.name}">' for p in latest)
        parts.append(f'<figure><h3>Training samples at {html.escape(tag)}</h3><div class="media">{imgs}</div>'
                     "<figcaption>Written during training: reconstructions, swap matrix, prior samples."
                     "</figcaption></figure>")  # fmt: skip
    return "\n".join(parts) or '<p class="note">No pictures.</p>'


def build_report(run: str | Path, show: ShowConfig | None = None, data_dir: str | Path | None = None) -> Path:
    """Write ``RUN/report.html``; draws the pictures first (``show_run``) when ``RUN/show`` has none.

    Args:
        run: the run folder (needs a checkpoint only when the pictures must be drawn).
        show: the pictures' config; None draws missing pictures with the defaults.
        data_dir: data folder for the pictures (default: the run config's data.path).
    """
    run = Path(run)
    cfg = read_run_config(run)  # a clear error for a folder that is not a run
    if show is not None or not (run / SHOW_DIR / INDEX).is_file():
        show_run(run, show or ShowConfig(), data_dir)
    metrics_md = run / EVAL_DIR / "metrics.md"
    evaluation = '<p class="note">Not evaluated yet: run <code>dsvae evaluate RUN --judge JUDGE</code>.</p>'
    if metrics_md.is_file():
        evaluation = markdown_to_html(metrics_md.read_text())
    config = json.dumps(to_dict(cfg), indent=2)
    title = f"dsvae run {run.resolve().name}"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="note">{html.escape(str(run.resolve()))} &middot; report written {time.strftime("%Y-%m-%d %H:%M")}</p>
<h2>Training curves</h2>
{curves(read_metrics(run))}
<h2>Evaluation</h2>
{evaluation}
<h2>Pictures</h2>
{pictures(run)}
<h2>Configuration</h2>
<pre>{html.escape(config)}</pre>
</body></html>
"""
    out = run / REPORT_NAME
    atomic_write(out, lambda p: p.write_text(page, encoding="utf-8"))
    return out
