"""The protocol end to end on a tiny model, the shapes set and a judge; its bad inputs."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from dsvae.cli import main
from dsvae.config import DSVAEConfig
from dsvae.data import build_shapes, read_info
from dsvae.errors import DSVAEError
from dsvae.evaluate.judge import JudgeConfig
from dsvae.evaluate.judge_train import train_and_save
from dsvae.evaluate.literature import published_for
from dsvae.evaluate.protocol import EvalConfig, evaluate, factor_roles, write_evaluation
from dsvae.evaluate.tables import markdown

from .conftest import make_run, speech_like, unlabelled_copy

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
