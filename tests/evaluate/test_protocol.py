"""The protocol end to end on a tiny model, the shapes set and a judge; its bad inputs."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from dsvae.cli import main
from dsvae.config import DSVAEConfig
from dsvae.data import build_shapes, read_info
from dsvae.errors import DSVAEError
from dsvae.evaluate.judge import Judge, JudgeConfig
from dsvae.evaluate.judge_train import train_and_save
from dsvae.evaluate.literature import published_for
from dsvae.evaluate.protocol import EvalConfig, evaluate, factor_roles, write_evaluation
from dsvae.evaluate.tables import markdown
from dsvae.visualise.report import build_report

from .conftest import FAST_JUDGE, make_run, speech_like, unlabelled_copy

QUICK = EvalConfig(samples=2, max_sequences=48, batch_size=24)


def test_protocol_writes_every_score(shapes_dir: Path, judge_dir: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    metrics = evaluate(run, judge_dir, QUICK)
    paths = write_evaluation(run, metrics)
    assert [p.name for p in paths] == ["metrics.json", "metrics.md"]
    m = json.loads((run / "eval" / "metrics.json").read_text())
    heads = {"motion", "direction", "speed", "shape", "colour"}
    assert m["factors"]["dynamic"] == "motion" and m["factors"]["static"] == ["shape", "colour"]
    assert m["data"]["n_sequences"] == 48
    c, d = m["content_resampled"], m["dynamics_resampled"]
    assert set(c["accuracy"]) == heads and set(c["accuracy"]["motion"]) == {"mean", "std"}
    assert 1.0 - 1e-9 <= c["is"]["mean"] <= 8 + 1e-9  # 8 motions
    assert 0 <= c["h_y_given_x"]["mean"] <= math.log(8) + 1e-9 and 0 <= c["h_y"]["mean"] <= math.log(8) + 1e-9
    assert set(d["is"]) == {"shape", "colour"} and "joint_static_accuracy" in d
    assert d["joint_static_accuracy"]["mean"] <= min(d["accuracy"][h]["mean"] for h in ("shape", "colour"))
    assert set(m["swap"]) == {"vs_content_source", "vs_dynamics_source"}
    assert set(m["reconstruction"]["accuracy"]) == heads and m["reconstruction"]["mse"] > 0
    assert m["real"]["accuracy"]["colour"] >= 0.9
    assert set(m["likelihood"]) == {"loss", "elbo", "recon", "kl_f", "kl_z"}
    assert m["likelihood"]["elbo"]["mean"] == pytest.approx(-m["likelihood"]["loss"]["mean"])
    assert m["reference"]["ceiling"]["inception_score"] == 8 and m["reference"]["published"] == []
    assert "verification" not in m  # image frames: off unless asked for
    md = (run / "eval" / "metrics.md").read_text()
    assert "| ceiling (a perfect model and judge on 8 balanced classes) | 100.00% | 8.000 | 0.000 | 2.079 |" in md
    assert "H(y\\|x)" in md  # the bar is escaped inside tables

    m["reference"]["published"] = [vars(p) for p in published_for("sprites")]  # as a Sprites run would show
    row = "| DSVAE (Li & Mandt 2018), as reported by Zhu et al. 2020, S3VAE (CVPR 2020), Table 1 | 90.73% | 8.384 |"
    assert row in markdown(m)


def test_same_seed_same_numbers(shapes_dir: Path, judge_dir: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    cfg = EvalConfig(samples=1, max_sequences=16)
    a, b = evaluate(run, judge_dir, cfg), evaluate(run, judge_dir, cfg)
    for key in ("content_resampled", "dynamics_resampled", "swap", "likelihood", "reconstruction"):
        assert a[key] == b[key], key


def test_factor_roles(shapes_dir: Path) -> None:
    info = read_info(shapes_dir)
    roles = factor_roles(info, EvalConfig(dynamic_factor="direction", verification="on"))
    assert roles.names[roles.dynamic] == "direction" and roles.names[roles.speaker] == "shape"
    with pytest.raises(DSVAEError, match="is a static factor"):
        factor_roles(info, EvalConfig(dynamic_factor="colour"))
    with pytest.raises(DSVAEError, match="no factor 'gait'"):
        factor_roles(info, EvalConfig(dynamic_factor="gait"))


def test_vector_frames_get_the_speaker_verification(tmp_path: Path) -> None:
    data = speech_like(tmp_path / "speech")
    judge = train_and_save(data, tmp_path / "judge", JudgeConfig(steps=150, lr=3e-3, threshold=0.0, batch_size=8))
    assert judge.test_accuracy["speaker"] > 0.9  # the tilt is easy to see
    cfg = DSVAEConfig(n_frames=6, frame_dim=10, likelihood="gaussian", dim_z=2, dim_f=4, dim_h=8, dim_hidden=16)
    run = make_run(tmp_path / "run", data, cfg)
    m = evaluate(run, tmp_path / "judge", EvalConfig(samples=1))
    v = m["verification"]
    assert v["factor"] == "speaker" and v["n_sequences"] == 36 and v["n_pairs"] == 36 * 35 // 2
    assert 0.0 <= v["eer_f"] <= 1.0 and 0.0 <= v["eer_z"] <= 1.0
    assert m["factors"]["dynamic"] == "digit"
    assert "Verification: same `speaker`?" in write_evaluation(run, m)[1].read_text()


# -- bad inputs: a clear line, exit status 2, nothing written ---------------------------------------


def assert_refused(argv: list[str], match: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("dsvae: error: ") and match in err and err.count("\n") == 1, err


def test_run_without_checkpoint(shapes_dir: Path, judge_dir: Path, tmp_path: Path, capsys) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    shutil.rmtree(run / "checkpoints")
    assert_refused(["evaluate", str(run), "--judge", str(judge_dir)], "no best checkpoint", capsys)
    assert not (run / "eval").exists()


def test_judge_of_another_frame_size(shapes_dir: Path, judge_dir: Path, tmp_path: Path, capsys) -> None:
    big = build_shapes(tmp_path / "big", n_train=8, n_test=8, n_frames=8, image_size=64)
    run = make_run(tmp_path / "run", big, DSVAEConfig(n_frames=8, image_size=64, dim_z=4, dim_f=8, dim_h=16,
                                                       dim_hidden=32, n_channels=8))  # fmt: skip
    assert_refused(["evaluate", str(run), "--judge", str(judge_dir)], "the judge was trained on 'shapes'", capsys)
    assert not (run / "eval").exists()


def test_data_without_labels(shapes_dir: Path, judge_dir: Path, tmp_path: Path, capsys) -> None:
    data = unlabelled_copy(shapes_dir, tmp_path / "plain")
    run = make_run(tmp_path / "run", data)
    assert_refused(["evaluate", str(run), "--judge", str(judge_dir)], "no labelled factors", capsys)
    assert not (run / "eval").exists()


def test_weak_judge_is_refused_unless_accepted(shapes_dir: Path, tmp_path: Path, capsys) -> None:
    weak = tmp_path / "weak"
    train_and_save(shapes_dir, weak, JudgeConfig(image_size=8, steps=2, max_train=64))
    run = make_run(tmp_path / "run", shapes_dir)
    assert_refused(["evaluate", str(run), "--judge", str(weak)], "not good enough", capsys)
    argv = ["evaluate", str(run), "--judge", str(weak), "--min-judge-accuracy", "0", "--samples", "1",
            "--max-sequences", "8", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert (run / "eval" / "metrics.json").is_file()


# -- several judges ------------------------------------------------------------------------------


def liar_copy(judge_dir: Path, out: Path, head: str = "motion") -> Path:
    """The same judge with the classes of one head rolled by one: it disagrees on that head, and only there."""
    judge = Judge.load(judge_dir)
    k = judge.factor_names.index(head)
    with torch.no_grad():
        for layer in judge.net.heads_of(k):
            layer.weight.copy_(layer.weight.roll(1, 0))
            layer.bias.copy_(layer.bias.roll(1, 0))
    judge.save(out)
    return out


def test_two_judges_report_both_and_flag_a_planted_disagreement(
    shapes_dir: Path, judge_dir: Path, tmp_path: Path
) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    liar = liar_copy(judge_dir, tmp_path / "liar")
    m = evaluate(run, [judge_dir, liar], QUICK)
    assert [j["name"] for j in m["judges"]] == [judge_dir.name, "liar"]
    assert set(m["by_judge"]) == {judge_dir.name, "liar"}
    assert m["real"] == m["by_judge"][judge_dir.name]["real"]  # the top level is the first judge's
    honest, lying = (m["by_judge"][n]["real"]["accuracy"]["motion"] for n in (judge_dir.name, "liar"))
    assert honest >= 0.9 and lying <= 0.1
    flagged = {r["figure"]: r for r in m["agreement"]["flagged"]}
    assert "real/accuracy/motion" in flagged
    assert flagged["real/accuracy/motion"]["spread"] == pytest.approx(honest - lying)
    assert m["agreement"]["max_disagreement"]["spread"] >= honest - lying - 1e-12
    assert not any(f.endswith("/shape") or f.endswith("/colour") for f in flagged)  # the static heads agree
    md = markdown(m)
    assert "## Do the judges agree?" in md and "⚠" in md and "judge `liar`" in md
    assert f"judge `{judge_dir.name}`" in md


def test_the_same_judge_twice_agrees_everywhere(shapes_dir: Path, judge_dir: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    m = evaluate(run, [judge_dir, judge_dir], EvalConfig(samples=1, max_sequences=16))
    assert [j["name"] for j in m["judges"]] == [judge_dir.name, f"{judge_dir.name}-2"]
    assert m["agreement"]["flagged"] == [] and m["agreement"]["max_disagreement"]["spread"] == 0
    assert "Every accuracy agrees within 2 points." in markdown(m)


def test_evaluate_cli_takes_several_judges(shapes_dir: Path, judge_dir: Path, tmp_path: Path, capsys) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    liar = liar_copy(judge_dir, tmp_path / "liar")
    argv = ["evaluate", str(run), "--judge", str(judge_dir), "--judge", str(liar), "--samples", "1",
            "--max-sequences", "16", "--quiet"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    m = json.loads((run / "eval" / "metrics.json").read_text())
    assert len(m["judges"]) == 2 and m["agreement"]["flagged"]


def test_judge_of_another_number_of_frames_is_refused(shapes_dir: Path, tmp_path: Path, capsys) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    other = build_shapes(tmp_path / "t2", n_train=40, n_test=40, n_frames=2, image_size=32)
    train_and_save(other, tmp_path / "j2", dataclasses.replace(FAST_JUDGE, steps=2, threshold=0.0))
    assert_refused(["evaluate", str(run), "--judge", str(tmp_path / "j2"), "--data", str(other)],
                   "trained on sequences of 2 frames, but the model", capsys)  # fmt: skip
    assert not (run / "eval").exists()


def test_the_report_builds_its_tables_from_metrics_json(shapes_dir: Path, judge_dir: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", shapes_dir)
    write_evaluation(run, evaluate(run, judge_dir, QUICK))
    (run / "eval" / "metrics.md").unlink()  # the tables must come from the figures, not from their Markdown
    page = build_report(run).read_text()
    assert "<h3>Dynamics kept, content resampled (the papers&#x27; Acc): judged on <code>motion</code></h3>" in page
    assert "<td>ceiling (a perfect model and judge on 8 balanced classes)</td><td>100.00%</td>" in page
    assert "<th>H(y|x)</th>" in page and "Not evaluated yet" not in page
