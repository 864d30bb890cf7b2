"""The prior-stability study: health figures from a run's logs, the per-prior summary, a smoke run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "prior_stability.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("prior_stability", SCRIPT)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def write_run(run_dir: Path, losses: list[float], grad_norms: list[float], skipped: int = 0) -> None:
    run_dir.mkdir(parents=True)
    step = 10 * len(losses)
    (run_dir / "summary.json").write_text(json.dumps({"step": step, "stopped": "budget", "skipped_steps": skipped}))
    rows = [{"step": 10 * (i + 1), "split": "train", "loss": loss, "grad_norm": g}
            for i, (loss, g) in enumerate(zip(losses, grad_norms, strict=True))]  # fmt: skip
    rows.insert(3, {"step": 35, "split": "test", "loss": 1e9})  # test rows are not training health
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_health_counts_spikes_after_the_settling_fraction(study, tmp_path: Path) -> None:
    # 10 logged steps (10..100); spikes count from step 20 (20% of 100) against the lowest so far
    losses = [500, 100, 90, 200, 80, 99, 101, 70, 88, 60]
    write_run(tmp_path / "run", losses, [1, 2, 3, 40, 5, 6, 7, 8, 9, 10], skipped=2)
    h = study.health(tmp_path / "run")
    # 200 > 1.25*90 and 101 > 1.25*80 are spikes; 99 is not (< 100); 88 > 1.25*70 is one
    assert h == {"stopped": "budget", "skipped_steps": 2, "max_grad_norm": 40, "loss_spikes": 3}


def row(prior: str, seed: int, acc: float, elbo: float) -> dict:
    last = {"step": 100, "dynamics_kept": {"accuracy": acc, "is": 8.0, "h_y_given_x": 0.1, "h_y": 2.1},
            "content_kept": {"body": acc / 2, "all": acc / 4}, "test_elbo": elbo, "kl_f": 1.0, "kl_z": 2.0}  # fmt: skip
    return {"prior": prior, "seed": seed, "stopped": "budget", "skipped_steps": seed, "max_grad_norm": 10.0 * seed,
            "loss_spikes": 1, "last": last}  # fmt: skip


def test_summary_is_mean_and_sample_std_per_prior(study) -> None:
    failed = {**row("lstm", 1, 0, 0), "stopped": "failed: non-finite", "last": None}
    rows = [row("improved", 0, 0.8, -100), row("improved", 1, 0.9, -110), row("improved", 2, 1.0, -120),
            row("lstm", 0, 0.5, -200), failed]  # fmt: skip
    s = study.summarise(rows)
    acc = s["improved"]["stats"]["dyn_acc"]
    assert acc["mean"] == pytest.approx(0.9) and acc["std"] == pytest.approx(0.1)  # sample std of .8,.9,1
    assert (acc["min"], acc["max"]) == (0.8, 1.0)
    assert s["improved"]["stats"]["test_elbo"]["mean"] == pytest.approx(-110)
    assert s["improved"]["skipped_steps"] == 3 and s["improved"]["not_finished"] == []
    assert s["lstm"]["stats"]["dyn_acc"] == {"mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5}
    assert s["lstm"]["not_finished"] == [1]
    table = study.markdown(rows, s, "t")
    assert "90.0 ± 10.0 (80.0–100.0)" in table and "failed: non-finite" in table


@pytest.mark.slow
def test_smoke_study_runs_both_priors_and_resumes(study, tmp_path: Path) -> None:
    argv = ["--smoke", "--out", str(tmp_path), "--steps", "3", "--seeds", "0,1"]  # steps, not minutes: no clock
    assert study.main(argv) == 0
    result = json.loads((tmp_path / "stability.json").read_text())
    assert [(r["prior"], r["seed"]) for r in result["runs"]] == [("improved", 0), ("lstm", 0), ("improved", 1),
                                                                  ("lstm", 1)]  # fmt: skip
    assert all(r["last"]["step"] == 3 for r in result["runs"])
    assert set(result["summary"]) == {"improved", "lstm"}
    # different seeds give different models
    elbos = [r["last"]["test_elbo"] for r in result["runs"] if r["prior"] == "improved"]
    assert elbos[0] != elbos[1]
    # a second call reuses the finished runs instead of training again
    first = (tmp_path / "improved-s0" / "quality.jsonl").stat().st_mtime_ns
    assert study.main(argv) == 0
    assert (tmp_path / "improved-s0" / "quality.jsonl").stat().st_mtime_ns == first


def test_failed_runs_are_recorded_and_all_failing_exits_non_zero(study, tmp_path: Path) -> None:
    argv = ["--smoke", "--out", str(tmp_path), "--steps", "3", "--seeds", "0", "--priors", "lstm",
            "model.dim_z=0"]  # fmt: skip
    assert study.main(argv) == 1
    result = json.loads((tmp_path / "stability.json").read_text())
    assert result["runs"][0]["last"] is None and "dim_z" in result["runs"][0]["stopped"]


@pytest.mark.slow
def test_smoke_spread_varies_the_precision_and_records_where_the_motion_sits(study, tmp_path: Path) -> None:
    argv = ["--smoke", "--out", str(tmp_path), "--steps", "3", "--seeds", "0,1", "--priors", "improved",
            "--precisions", "fp32,bf16"]  # fmt: skip
    assert study.main(argv) == 0
    result = json.loads((tmp_path / "stability.json").read_text())
    assert [(r["prior"], r["seed"]) for r in result["runs"]] == [
        ("improved/fp32", 0), ("improved/bf16", 0), ("improved/fp32", 1), ("improved/bf16", 1)]  # fmt: skip
    runs = {(r["prior"], r["seed"]): r for r in result["runs"]}
    # the precision reached the runs: each run's config records its own
    for precision in ("fp32", "bf16"):
        config = json.loads((tmp_path / f"improved-{precision}-s0" / "run" / "config.json").read_text())
        assert config["train"]["precision"] == precision
    # fp32 and bf16 runs of one seed are different runs
    assert runs[("improved/fp32", 0)]["last"]["test_elbo"] != runs[("improved/bf16", 0)]["last"]["test_elbo"]
    last = runs[("improved/fp32", 0)]["last"]
    assert set(last["zero_f"]) == set(last["reconstruction"]) and all(0 <= v <= 1 for v in last["zero_f"].values())
    assert "zero_f_motion" in result["summary"]["improved/fp32"]["stats"]
    assert "zero f: motion %" in (tmp_path / "stability.md").read_text()
