"""``dsvae report``: one self-contained page; rendered by a real browser when one is installed."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dsvae.cli import main
from dsvae.visualise.report import build_report
from dsvae.visualise.report_tables import markdown_to_html, table_cells

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


def metrics_json(static: list[str]) -> dict:
    acc = {f: {"mean": 0.5, "std": 0.01} for f in static}
    return {
        "factors": {"names": [*static, "motion"], "dynamic": "motion", "static": static},
        "dynamics_resampled": {"accuracy": acc, "joint_static_accuracy": {"mean": 0.25, "std": 0.0}},
        "reconstruction": {"accuracy": {f: 0.9 for f in static}},
        "real": {"accuracy": {f: 1.0 for f in static}},
    }


def test_report_has_the_runs_name_log_loss_axes_and_a_content_table(shapes_dir: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "quickstart" / "run", shapes_dir)
    (run / "eval").mkdir()
    (run / "eval" / "metrics.md").write_text(METRICS_MD)
    (run / "eval" / "metrics.json").write_text(json.dumps(metrics_json(["shape", "colour"])))
    page = build_report(run).read_text()
    assert "<title>quickstart/run: dsvae report</title>" in page
    assert "Negative ELBO (loss), nats per sequence (log scale)" in page and "Reconstruction term (log scale)" in page
    table = page[page.index('<table class="content">') :].split("</table>")[0].split("<tbody>")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    assert [re.findall(r"<td>(.*?)</td>", r)[0] for r in rows] == [
        "this run: f kept, new z_1:T", "ceiling: the judge on reconstructions", "the judge on the real sequences",
        "chance: a uniform guess",
    ]  # fmt: skip
    info = json.loads((shapes_dir / "meta.json").read_text())
    n = {f["name"]: len(f["classes"]) for f in info["factors"]}
    chance = re.findall(r"<td>(.*?)</td>", rows[-1])[1:]
    both = n["shape"] * n["colour"]
    assert chance == [f"{100 / n['shape']:.1f}%", f"{100 / n['colour']:.1f}%", f"{100 / both:.1f}%"]
    assert "GIF: the matrix animated" in page and "PNG: every frame side by side" in page


def test_the_header_names_the_data_set_and_its_folder(shapes_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(shapes_dir, target_is_directory=True)
    page = build_report(make_run(tmp_path / "a", tmp_path / "data")).read_text()
    assert "data shapes (folder data) &middot;" in page
    page = build_report(make_run(tmp_path / "b", shapes_dir)).read_text()  # the folder carries the set's name
    assert "data shapes &middot;" in page
    (tmp_path / "data").unlink()  # moved after the pictures were drawn: the report still builds
    assert "data data &middot;" in build_report(tmp_path / "a").read_text()


def index_with(run: Path, name: str, title: str = "t") -> None:
    index = json.loads((run / "show" / "index.json").read_text())
    index["pictures"][0]["files"] = [name]
    index["pictures"][0]["title"] = title
    (run / "show" / "index.json").write_text(json.dumps(index))


@pytest.mark.parametrize("name", ["/etc/passwd", "../../x.png", "../config.json", "link.png"])
def test_report_refuses_files_outside_the_run(shapes_dir: Path, tmp_path: Path, name: str, capsys) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    build_report(run)  # draws RUN/show
    (tmp_path / "x.png").write_bytes(b"secret")
    (run / "show" / "link.png").symlink_to(tmp_path / "x.png")
    index_with(run, name)
    before = (run / "report.html").read_text()
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err
    if name == "../config.json":  # inside the run but not a picture
        assert "not a PNG, GIF or WAV" in err
    else:
        assert "outside" in err and "refusing" in err
    assert err.count("\n") == 1 and (run / "report.html").read_text() == before  # the old report stays


def test_everything_reaching_the_page_is_escaped(shapes_dir: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    build_report(run)
    evil = '"><script>alert(1)</script>.png'
    (run / "show" / evil).parent.mkdir(parents=True, exist_ok=True)  # the name holds a slash: a sub-folder
    (run / "show" / evil).write_bytes((run / "show" / "swap.png").read_bytes())
    index_with(run, evil, title='<img src=x onerror="alert(2)">')
    page = build_report(run).read_text()
    assert "<script" not in page and "onerror=" not in page.replace("onerror=&quot;", "")
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;.png" in page  # shown as text
    assert page.count("<img ") == len(re.findall(r'<img src="data:', page))  # every image is one of ours


def test_report_out_follows_the_output_folder_rule(shapes_dir: Path, tmp_path: Path, capsys) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    out = tmp_path / "site"
    assert main(["report", str(run), "--out", str(out)]) == 0
    assert (out / "report.html").is_file() and (out / "show" / "index.json").is_file()
    assert not (run / "report.html").exists() and not (run / "show").exists()  # the run is left alone
    assert main(["report", str(run), "--out", str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    (out / "old-file").write_text("x")
    assert main(["report", str(run), "--out", str(out), "--overwrite"]) == 0
    assert not (out / "old-file").exists() and (out / "report.html").is_file()  # replaced whole
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    assert main(["report", str(run), "--out", str(other), "--overwrite"]) == 2
    assert "holds no `dsvae report` output" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "keep me" and len(list(other.iterdir())) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".partial", ".old"))]
