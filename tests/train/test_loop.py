"""The training loop: exact resume, a falling loss, the non-finite guard, atomic checkpoints."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dsvae.data import DataFolderWriter, DataInfo, Factor
from dsvae.errors import DSVAEError
from dsvae.model import DSVAE
from dsvae.run_config import DataConfig, RunConfig, TrainConfig
from dsvae.run_folder import read_metrics
from dsvae.train.checkpoint import find_checkpoint, load_checkpoint, save_checkpoint
from dsvae.train.loop import Trainer


def weights(run: Path, which: str = "latest") -> dict[str, torch.Tensor]:
    return DSVAE.from_pretrained(run, checkpoint=which).state_dict()


def test_resume_repeats_the_uninterrupted_run_exactly(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    one = Trainer(tiny_run_config, tmp_path / "one", echo=False).run()
    assert one.step == 8 and one.stopped == "finished"

    half = Trainer(tiny_run_config, tmp_path / "two", echo=False, max_new_steps=4).run()
    assert half.step == 4 and half.stopped == "steps"
    rest = Trainer(tiny_run_config, tmp_path / "two", echo=False, resume=True).run()
    assert rest.step == 8

    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # and the optimiser state too
    opt_a = json.loads((tmp_path / "one/checkpoints/latest/trainer.json").read_text())
    opt_b = json.loads((tmp_path / "two/checkpoints/latest/trainer.json").read_text())
    assert opt_a["trainer"] == opt_b["trainer"]


def test_a_kl_schedule_resumes_exactly_and_logs_the_weights_each_step_used(
    tiny_run_config: RunConfig, tmp_path: Path
) -> None:
    # the interruption (after step 4) falls inside the anneal (steps 3 to 5)
    train = dataclasses.replace(
        tiny_run_config.train, kl_z_start=10.0, kl_f_start=0.5, kl_hold_steps=3, kl_anneal_steps=3, log_every=1
    )
    cfg = dataclasses.replace(tiny_run_config, train=train)
    Trainer(cfg, tmp_path / "one", echo=False).run()
    Trainer(cfg, tmp_path / "two", echo=False, max_new_steps=4).run()
    Trainer(cfg, tmp_path / "two", echo=False, resume=True).run()
    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    for k in a:
        assert torch.equal(a[k], b[k]), k
    for run in ("one", "two"):
        rows = [r for r in read_metrics(tmp_path / run) if r["split"] == "train"]
        logged = [w for r in rows for w in (r["kl_f_weight"], r["kl_z_weight"])]
        # steps 0-2 held; the anneal starts at step 3 and moves a third of the way a step: z 10, 7, 4, 1
        want = [0.5, 10.0] * 4 + [2 / 3, 7.0, 5 / 6, 4.0, 1.0, 1.0, 1.0, 1.0]
        assert logged == pytest.approx(want), run


def test_loss_falls_on_the_synthetic_set(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    cfg = dataclasses.replace(
        tiny_run_config,
        train=dataclasses.replace(tiny_run_config.train, max_steps=150, log_every=10, eval_every=150, warmup_steps=5),
    )
    result = Trainer(cfg, tmp_path / "run", echo=False).run()
    train = [r for r in read_metrics(tmp_path / "run") if r["split"] == "train"]
    assert train[-1]["loss"] < 0.5 * train[0]["loss"], (train[0]["loss"], train[-1]["loss"])
    assert result.last_test["elbo"] > -0.5 * train[0]["loss"]
    assert {"lr", "seq_per_s", "recon", "kl_f", "kl_z", "grad_norm"} <= set(train[-1])
    assert (tmp_path / "run/config.json").is_file() and (tmp_path / "run/log.txt").is_file()
    assert (tmp_path / "run/checkpoints/best/model.safetensors").is_file()


def nan_vector_folder(path: Path, n: int, bad: slice) -> Path:
    """A vector data folder whose sequences ``bad`` contain a NaN."""
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(n, 4, 6)).astype(np.float32)
    frames[bad, 1, 2] = np.nan
    with DataFolderWriter(path) as w:
        w.frames("train", frames.shape, np.float32)[:] = frames
        w.labels("train", np.zeros((n, 1), dtype=np.int64))
        info = DataInfo(
            name="nan", layout="vector", frame_shape=[6], n_frames=4, dtype="float32",
            splits={"train": n}, factors=[Factor("c", "static", ["a"])],
        )  # fmt: skip
        return w.commit(info)


def vector_config(path: Path, **train: object) -> RunConfig:
    model = dataclasses.replace(
        RunConfig().model, frame_dim=6, n_frames=4, likelihood="gaussian", dim_z=2, dim_f=4, dim_h=8, dim_hidden=16
    )
    base = TrainConfig(batch_size=4, max_steps=12, warmup_steps=0, log_every=4, eval_every=100, sample_every=0)
    data = DataConfig(path=str(path), num_workers=0)
    return RunConfig(model=model, data=data, train=dataclasses.replace(base, **train))


def test_non_finite_steps_are_skipped_and_never_checkpointed(tmp_path: Path) -> None:
    folder = nan_vector_folder(tmp_path / "d", n=32, bad=slice(0, 1))  # one poisoned sequence: 1 batch in 8
    result = Trainer(vector_config(folder), tmp_path / "run", echo=False).run()
    assert result.skipped_steps >= 1
    assert result.step == 12
    for name, t in weights(tmp_path / "run").items():
        assert torch.isfinite(t).all(), name
    assert "non-finite recon" in (tmp_path / "run/log.txt").read_text()


def test_repeated_non_finite_steps_stop_the_run_naming_step_and_term(tmp_path: Path) -> None:
    folder = nan_vector_folder(tmp_path / "d", n=16, bad=slice(None))
    message = r"stopped at step 0 \(no update was made\): 3 steps in a row had a non-finite recon"
    with pytest.raises(DSVAEError, match=message):
        Trainer(vector_config(folder, max_bad_steps=3), tmp_path / "run", echo=False).run()


def test_failed_checkpoint_write_keeps_the_previous_one(
    tiny_run_config: RunConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = DSVAE(tiny_run_config.model)
    opt = torch.optim.Adam(model.parameters())
    folder = tmp_path / "latest"
    save_checkpoint(folder, model, opt, {"step": 1})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("dsvae.io.save_file", disk_full)
    with pytest.raises(DSVAEError, match="No space left"):
        save_checkpoint(folder, model, opt, {"step": 2})
    monkeypatch.undo()
    fresh = DSVAE(tiny_run_config.model)
    state = load_checkpoint(find_checkpoint(folder), fresh, torch.optim.Adam(fresh.parameters()))
    assert state["step"] == 1
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, before[k])
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]  # no temporary folder left behind


def test_a_kill_between_the_two_renames_leaves_the_old_checkpoint_found(
    tiny_run_config: RunConfig, tmp_path: Path
) -> None:
    model = DSVAE(tiny_run_config.model)
    folder = tmp_path / "latest"
    save_checkpoint(folder, model, None, {"step": 1})
    folder.rename(tmp_path / ".latest.old")  # the state right after the first rename
    found = find_checkpoint(folder)
    assert found == tmp_path / ".latest.old"
    assert load_checkpoint(found, DSVAE(tiny_run_config.model), None)["step"] == 1


def test_non_finite_weights_are_refused(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    model = DSVAE(tiny_run_config.model)
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(DSVAEError, match="non-finite"):
        save_checkpoint(tmp_path / "latest", model, None, {"step": 0})
    assert not (tmp_path / "latest").exists()


def test_data_that_does_not_fit_the_model_is_refused(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    cfg = dataclasses.replace(tiny_run_config, model=dataclasses.replace(tiny_run_config.model, channels=1))
    with pytest.raises(DSVAEError, match=r"expects 4 of \(1, 32, 32\)"):
        Trainer(cfg, tmp_path / "run", echo=False)
    cfg = dataclasses.replace(tiny_run_config, data=DataConfig(path=str(tmp_path / "missing")))
    with pytest.raises(DSVAEError, match="does not exist"):
        Trainer(cfg, tmp_path / "run", echo=False)


def test_tensorboard_events_mirror_the_metrics(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="the optional tensorboard extra (installed by '.[test]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    Trainer(tiny_run_config, tmp_path / "run", echo=False).run()
    events = EventAccumulator(str(tmp_path / "run/tensorboard"))
    events.Reload()
    logged = [e.value for e in events.Scalars("train/loss")]
    expected = [r["loss"] for r in read_metrics(tmp_path / "run") if r["split"] == "train"]
    assert logged == pytest.approx(expected, rel=1e-6)
    assert "test/elbo" in events.Tags()["scalars"]


def test_bf16_autocast_trains_on_cpu_like_fp32_with_fp32_weights(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    ends = {}
    for precision in ("fp32", "bf16"):
        train = dataclasses.replace(
            tiny_run_config.train, precision=precision, max_steps=60, log_every=10, eval_every=60, warmup_steps=5
        )
        Trainer(dataclasses.replace(tiny_run_config, train=train), tmp_path / precision, echo=False).run()
        rows = [r for r in read_metrics(tmp_path / precision) if r["split"] == "train"]
        assert all(np.isfinite(r["loss"]) for r in rows)
        assert rows[-1]["loss"] < 0.85 * rows[0]["loss"], (precision, rows[0]["loss"], rows[-1]["loss"])
        ends[precision] = rows[-1]["loss"]
    assert ends["bf16"] == pytest.approx(ends["fp32"], rel=0.05)
    assert all(w.dtype == torch.float32 for w in weights(tmp_path / "bf16").values())


def test_bf16_autocast_loss_is_close_to_fp32(tiny_run_config: RunConfig) -> None:
    torch.manual_seed(0)
    model = DSVAE(tiny_run_config.model)
    x = torch.rand(4, tiny_run_config.model.n_frames, *tiny_run_config.model.frame_shape)
    with torch.no_grad():
        full = model(x).loss.item()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half = model(x).loss.item()
    assert half == pytest.approx(full, rel=1e-2) and half != full


def test_fp16_on_cpu_is_refused_in_one_line(tiny_run_config: RunConfig, tmp_path: Path) -> None:
    train = dataclasses.replace(tiny_run_config.train, precision="fp16", device="cpu")
    with pytest.raises(DSVAEError, match="fp16 needs a CUDA device") as err:
        Trainer(dataclasses.replace(tiny_run_config, train=train), tmp_path / "run", echo=False)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "run").exists()
