"""``dsvae report``: one self-contained page; rendered by a real browser when one is installed."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dsvae.cli import main
from dsvae.visualise.report import build_report, markdown_to_html, table_cells

from .conftest import make_run

METRICS_MD = """# Evaluation

Run `r`; 8 sequences.

## Dynamics kept, content resampled

|  | Acc | IS | H(y\\|x) | H(y) |
|---|---|---|---|---|
| this run | 50.00 ± 1.00% | 4.000 ± 0.100 | 0.500 ± 0.010 | 1.900 ± 0.010 |
| DSVAE (Li & Mandt 2018), as reported by Zhu et al. 2020 | 90.73% | 8.384 | 0.072 | 2.192 |
"""
CHROMIUM = next((b for b in ("chromium", "chromium-browser", "google-chrome", "chrome") if shutil.which(b)), None)


def test_markdown_tables_become_html_tables() -> None:
    assert table_cells("| a | H(y\\|x) | `c` |") == ["a", "H(y|x)", "`c`"]
    page = markdown_to_html(METRICS_MD)
    assert "<h1>" not in page and "<h3>Dynamics kept, content resampled</h3>" in page  # under the report's h2
    assert "<th>H(y|x)</th>" in page and "<td>90.73%</td>" in page and "<code>r</code>" in page
    assert page.count("<tr>") == 3


def test_report_is_one_self_contained_file(shapes_dir: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    (run / "eval").mkdir()
    (run / "eval" / "metrics.md").write_text(METRICS_MD)
    out = build_report(run)
    assert out == run / "report.html"
    page = out.read_text()
    assert page.count("<svg") == 4  # loss, recon, KL terms, lr (the torn last metrics line is skipped)
    assert "90.73%" in page and "&quot;dim_z&quot;: 4" in page
    images = re.findall(r'src="data:image/(png|gif);base64,([^"]+)"', page)
    assert len(images) == 14  # 7 pictures, each a GIF then a PNG
    assert [kind for kind, _ in images[:2]] == ["gif", "png"]
    assert base64.b64decode(images[0][1]).startswith(b"GIF89a")
    assert base64.b64decode(images[1][1]).startswith(b"\x89PNG")
    assert not re.search(r'src="(?!data:)', page)  # nothing fetched from elsewhere


def test_report_without_evaluation_or_curves_says_what_to_do(shapes_dir: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", shapes_dir, curves=False)
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    assert "Not evaluated yet" in page and "No training metrics" in page


def test_report_on_a_folder_that_is_not_a_run(tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "run folder" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(shapes_dir: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    (run / "eval").mkdir()
    (run / "eval" / "metrics.md").write_text(METRICS_MD)
    page = build_report(run)
    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,2000",
           page.resolve().as_uri()]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    img = np.asarray(Image.open(shot).convert("RGB")).astype(np.float64)
    assert img.shape == (2000, 1200, 3)
    assert img.std() > 20  # not a blank page
    dark = (img.mean(2) < 128).mean(1)  # share of dark pixels per row: text, chart lines, sprite canvases
    assert (dark > 0.01).sum() > 300  # many rows carry content, down the page
    assert img[:, :, 2].mean() != img[:, :, 0].mean()  # colour (charts, pictures), not grey text alone
