"""``dsvae report``: one self-contained HTML page about a run (``RUN/report.html`` or ``--out``).

Sections: training curves drawn as inline SVG from ``RUN/metrics.jsonl`` (loss axes
logarithmic); the evaluation (a content table with chance and ceiling rows from
``RUN/eval/metrics.json``, then every table of ``RUN/eval/metrics.md``); every picture of
``RUN/show/`` (drawn first if missing) and the latest training samples; the resolved config.
Pictures and sounds are inlined as base64 data URIs, so the page is one file that opens anywhere.

The page is mailed around, so it embeds nothing from outside the run: every path it reads is
resolved (symbolic links included) and refused unless it lies inside the run folder (or the
new output folder holding freshly drawn pictures), and every string is escaped.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from dsvae.config import to_dict
from dsvae.data.folder import read_info
from dsvae.errors import DSVAEError
from dsvae.io import atomic_write, read_json
from dsvae.outputs import atomic_folder, check_output_folder
from dsvae.run_folder import (
    EVAL_DIR,
    EVAL_METRICS,
    EVAL_TABLES,
    METRICS_NAME,
    REPORT_NAME,
    SAMPLES,
    SHOW_DIR,
    SHOW_INDEX,
    SUMMARY_NAME,
    read_metrics,
    read_run_config,
)
from dsvae.tables import esc, inline_html
from dsvae.visualise.report_tables import content_table, evaluation_html, markdown_to_html
from dsvae.visualise.show import ShowConfig, show_run
from dsvae.visualise.svg import Series, line_chart

MIME = {".png": "image/png", ".gif": "image/gif", ".wav": "audio/wav"}
KIND = {  # what each kind of file shows, said under it
    ".gif": "GIF: the matrix animated, one time step at a time",
    ".png": "PNG: every frame side by side",
    ".wav": "WAV",
}
CHARTS = [  # (title, metric keys, log y axis); other numeric keys of the training records get a chart each
    ("Negative ELBO (loss), nats per sequence", ["loss"], True),
    ("Reconstruction term", ["recon"], True),
    ("KL terms", ["kl_f", "kl_z"], None),
]
NOT_CHARTED = {"step", "split", "time", "elbo"}  # bookkeeping, or the loss again with its sign flipped
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1400px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; } th { background: #f3f3f3; }
table.content tr:nth-child(n+2) td { color: #555; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: .85em; }
img { image-rendering: pixelated; border: 1px solid #eee; vertical-align: top; max-width: none; }
.media { overflow-x: auto; display: flex; gap: 1em; align-items: flex-start; }
.item { flex: none; } .kind { color: #555; font-size: .85em; margin: .2em 0 .4em 0; }
figure { margin: 1em 0 2em 0; } figcaption { color: #555; font-size: .92em; margin-top: .3em; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; } .note { color: #777; }
"""


def inside(root: Path, path: Path, what: str) -> Path:
    """``path`` resolved; a :class:`DSVAEError` unless it lies inside ``root`` (the page must not leak files)."""
    resolved, base = path.resolve(), root.resolve()
    if not resolved.is_relative_to(base):
        raise DSVAEError(
            f"{what} points to {path}, outside {base}; refusing to put it into the report "
            "(draw the pictures again with `dsvae report RUN --redraw`)"
        )
    return resolved


def data_uri(path: Path) -> str:
    mime = MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def curves(records: list[dict[str, Any]]) -> str:
    """Training curves as SVG charts, train and test series side by side."""
    if not records:
        return '<p class="note">No training metrics (metrics.jsonl is missing or empty).</p>'

    def numeric(key: str) -> bool:
        return any(isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool) for r in records)

    keys = [k for r in records for k in r if k not in NOT_CHARTED]
    charted = {k for _, ks, _ in CHARTS for k in ks}
    extra = [(str(k), [k], None) for k in dict.fromkeys(keys) if k not in charted and numeric(k)]
    svgs = []
    for title, names, log in [*CHARTS, *extra]:
        series: Series = {}
        for name in names:
            for split in ("train", "test"):
                rows = [r for r in records if r.get("split") == split and isinstance(r.get("step"), (int, float))]
                pts = [(float(r["step"]), float(r[name])) for r in rows if isinstance(r.get(name), (int, float))]
                if pts:
                    series[f"{name} ({split})"] = pts
        if series:
            svgs.append(line_chart(title + (" (log scale)" if log else ""), series, log=log))
    return f'<div class="charts">{"".join(svgs)}</div>'


def media_item(path: Path, name: str, alt: str) -> str:
    kind = f'<div class="kind">{esc(KIND.get(path.suffix.lower(), ""))} ({esc(name)})</div>'
    if path.suffix.lower() == ".wav":
        return f'<div class="item">{kind}<audio controls src="{data_uri(path)}"></audio></div>'
    return f'<div class="item">{kind}<img src="{data_uri(path)}" alt="{esc(alt)}"></div>'


def pictures(show_dir: Path, root: Path) -> str:
    """Every picture listed in ``show_dir/index.json``, each file checked to lie inside ``root``."""
    index = inside(root, show_dir / SHOW_INDEX, "the picture index")
    entries = read_json(index, what="picture index").get("pictures", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DSVAEError(f"picture index {index} is malformed: 'pictures' must be a list of objects")
    parts = []
    for entry in entries:
        files = entry.get("files", [])
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise DSVAEError(f"picture index {index} is malformed: 'files' must be a list of file names")
        media = []
        # the animation first (the whole matrix at a glance), then the still with every frame
        for name in sorted(files, key=lambda f: not f.endswith(".gif")):
            path = inside(root, show_dir / name, f"the picture index entry {name!r}")
            if path.suffix.lower() not in MIME:
                raise DSVAEError(f"picture index {index} lists {name!r}, not a PNG, GIF or WAV file")
            if path.is_file():
                media.append(media_item(path, name, str(entry.get("title", ""))))
        title, caption = esc(entry.get("title", "")), inline_html(str(entry.get("caption", "")))
        parts.append(f'<figure><h3>{title}</h3><div class="media">{"".join(media)}</div>'
                     f"<figcaption>{caption}</figcaption></figure>")  # fmt: skip
    return "\n".join(parts)


def training_samples(run: Path) -> str:
    samples_dir = run / SAMPLES
    samples = sorted(samples_dir.glob("*_recon.png")) if samples_dir.is_dir() else []
    if not samples:
        return ""
    tag = samples[-1].name.removesuffix("_recon.png")
    latest = sorted(samples_dir.glob(f"{tag}_*.png"))
    items = "".join(media_item(inside(run, p, "a training sample"), p.name, p.name) for p in latest)
    return (f'<figure><h3>Training samples at {esc(tag)}</h3><div class="media">{items}</div>'
            "<figcaption>PNG files written during training: reconstructions, swap matrix, prior samples."
            "</figcaption></figure>")  # fmt: skip


def evaluation(run: Path, data_dir: Path | None) -> str:
    """The content table and every table of the evaluation, built from metrics.json (from metrics.md
    when this version cannot read that metrics.json)."""
    md, js = run / EVAL_DIR / EVAL_TABLES, run / EVAL_DIR / EVAL_METRICS
    if not md.is_file() and not js.is_file():
        return '<p class="note">Not evaluated yet: run <code>dsvae evaluate RUN --judge JUDGE</code>.</p>'
    parts = []
    tables = None
    if js.is_file():
        metrics = read_json(inside(run, js, "the evaluation"), what="evaluation")
        n_classes: dict[str, int] = {}
        if data_dir is not None and (data_dir / "meta.json").is_file():
            n_classes = {f.name: f.n_classes for f in read_info(data_dir).factors}  # class counts only
        if isinstance(metrics, dict):
            parts.append(content_table(metrics, n_classes))
            tables = evaluation_html(metrics)
    if tables is None and md.is_file():
        tables = markdown_to_html(inside(run, md, "the evaluation").read_text(encoding="utf-8"))
    parts.append(tables or "")
    return "\n".join(parts)


def run_title(run: Path) -> str:
    """The run's name: its folder with the parent folder, e.g. ``quickstart/run`` or ``runs/sprites-1``."""
    r = run.resolve()
    return f"{r.parent.name}/{r.name}" if r.parent.name else r.name


def data_label(data_dir: Path | None) -> str:
    """The data set's name from its meta.json, with its folder's name where the two differ; the
    folder's name alone once the folder has moved (the pictures may have been drawn before)."""
    if data_dir is None:
        return "no data folder"
    if not (data_dir / "meta.json").is_file():
        return data_dir.name
    name = read_info(data_dir).name
    return name if name == data_dir.name else f"{name} (folder {data_dir.name})"


def page(run: Path, show_dir: Path, root: Path, data_dir: Path | None) -> str:
    """The whole HTML page (every path checked against ``run``, pictures against ``root``)."""
    cfg = read_run_config(run)
    if (run / METRICS_NAME).exists():
        inside(run, run / METRICS_NAME, "metrics.jsonl")
    summary = read_json(inside(run, run / SUMMARY_NAME, SUMMARY_NAME)) if (run / SUMMARY_NAME).is_file() else {}
    step = summary.get("step") if isinstance(summary, dict) else None
    data_name = data_label(data_dir)
    title = f"{run_title(run)}: dsvae report"
    facts = f"data {esc(data_name)}" + (f" &middot; {esc(step)} steps" if step is not None else "")
    shown = pictures(show_dir, root) + training_samples(run)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{esc(title)}</h1>
<p class="note">{facts} &middot; {esc(run.resolve())} &middot; written {time.strftime("%Y-%m-%d %H:%M")}</p>
<h2>Training curves</h2>
{curves(read_metrics(run))}
<h2>Evaluation</h2>
{evaluation(run, data_dir)}
<h2>Pictures</h2>
{shown or '<p class="note">No pictures.</p>'}
<h2>Configuration</h2>
<pre>{esc(json.dumps(to_dict(cfg), indent=2))}</pre>
</body></html>
"""


def build_report(
    run: str | Path,
    show: ShowConfig | None = None,
    data_dir: str | Path | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``RUN/report.html`` (or ``OUT/report.html``); returns its path.

    Args:
        run: the run folder (needs a checkpoint only when the pictures must be drawn).
        show: the pictures' config to draw them again; None draws them only when ``RUN/show`` has none.
        data_dir: data folder for the pictures (default: the run config's data.path).
        out: a folder for the report instead of the run (new, empty, or an earlier report, replaced only
            with ``overwrite``); pictures drawn for it go into ``OUT/show``, the run is left untouched.
    """
    run = Path(run)
    cfg = read_run_config(run)  # a clear error for a folder that is not a run
    data = Path(data_dir or cfg.data.path) if (data_dir or cfg.data.path) else None
    draw = show is not None or not (run / SHOW_DIR / SHOW_INDEX).is_file()
    if out is None:
        if draw:
            show_run(run, show or ShowConfig(), data_dir)
        html_text = page(run, run / SHOW_DIR, run, data)
        target = run / REPORT_NAME
        atomic_write(target, lambda p: p.write_text(html_text, encoding="utf-8"))
        return target
    out = Path(out)
    check_output_folder(out, REPORT_NAME, overwrite, "report folder", "report")
    with atomic_folder(out) as tmp:
        if draw:
            show_run(run, show or ShowConfig(), data_dir, out=tmp / SHOW_DIR)
        show_dir, root = (tmp / SHOW_DIR, tmp) if draw else (run / SHOW_DIR, run)
        html_text = page(run, show_dir, root, data)
        (tmp / REPORT_NAME).write_text(html_text, encoding="utf-8")
    return out / REPORT_NAME
