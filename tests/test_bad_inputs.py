"""Bad inputs, one table: every row gets one clear ``dsvae: error:`` line (or a DSVAEError), no
traceback, and leaves nothing behind.

CLI rows run in-process (``dsvae.cli.main``) against a tiny data folder and a tiny finished run
that every row shares; a row that needs a damaged copy builds it in its own ``tmp_path``. Each
row checks four things: a non-zero exit, exactly one error line that names the problem, no
traceback, and an unchanged file tree (the shared folders and the row's own folder).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from dsvae import DSVAE, DSVAEConfig
from dsvae.cli import main
from dsvae.data import build_shapes
from dsvae.errors import DSVAEError
from dsvae.run_config import DataConfig, RunConfig, TrainConfig
from dsvae.train.loop import Trainer

TINY_MODEL = dict(n_frames=4, image_size=32, dim_z=4, dim_f=8, dim_h=16, dim_hidden=32, n_channels=8)
TINY = [f"model.{k}={v}" for k, v in TINY_MODEL.items()] + ["train.batch_size=8", "train.sample_every=0"]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny data folder and a finished two-step run on it."""
    root = tmp_path_factory.mktemp("shared")
    data = build_shapes(root / "data", n_train=24, n_test=8, n_frames=4, image_size=32)
    cfg = RunConfig(
        model=DSVAEConfig(**TINY_MODEL),
        data=DataConfig(path=str(data)),
        train=TrainConfig(batch_size=8, max_steps=2, warmup_steps=0, log_every=1, eval_every=2, sample_every=0,
                          tensorboard=False),
    )  # fmt: skip
    Trainer(cfg, root / "run", echo=False).run()
    return {"data": data, "run": root / "run"}


def tree(*roots: Path) -> dict[str, str]:
    """Every path under ``roots`` with a digest of its content (folders as 'dir')."""
    out = {}
    for root in roots:
        if not root.exists():
            continue
        for p in sorted([root, *root.rglob("*")]):
            out[str(p)] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# -- set-ups that make a bad input inside the row's tmp folder ---------------------------------


def a_file(tmp: Path, s: dict[str, Path]) -> None:
    (tmp / "file").write_text("not a folder\n")


def a_full_folder(tmp: Path, s: dict[str, Path]) -> None:
    (tmp / "other").mkdir()
    (tmp / "other" / "notes.txt").write_text("mine\n")


def an_old_evaluation(tmp: Path, s: dict[str, Path]) -> None:
    (tmp / "ev").mkdir()
    (tmp / "ev" / "metrics.json").write_text("{}\n")


def data_copy(tmp: Path, s: dict[str, Path]) -> Path:
    return Path(shutil.copytree(s["data"], tmp / "data"))


def meta_not_object(tmp: Path, s: dict[str, Path]) -> None:
    (data_copy(tmp, s) / "meta.json").write_text("[1, 2, 3]\n")


def meta_deep(tmp: Path, s: dict[str, Path]) -> None:
    (data_copy(tmp, s) / "meta.json").write_text("[" * 100_000 + "]" * 100_000)


def meta_bad_dtype(tmp: Path, s: dict[str, Path]) -> None:
    d = data_copy(tmp, s)
    meta = json.loads((d / "meta.json").read_text())
    (d / "meta.json").write_text(json.dumps({**meta, "dtype": "int16"}))


def frames_as(dtype: type) -> Callable[[Path, dict[str, Path]], None]:
    def setup(tmp: Path, s: dict[str, Path]) -> None:
        d = data_copy(tmp, s)
        frames = np.load(d / "train" / "frames.npy")
        np.save(d / "train" / "frames.npy", frames.astype(dtype))  # floats 0-255, or int16

    return setup


def labels_out_of_range(tmp: Path, s: dict[str, Path]) -> None:
    d = data_copy(tmp, s)
    labels = np.load(d / "test" / "labels.npy")
    labels[0, 0] = 99
    np.save(d / "test" / "labels.npy", labels)


def run_copy_with_state(change: Callable[[dict], object]) -> Callable[[Path, dict[str, Path]], None]:
    def setup(tmp: Path, s: dict[str, Path]) -> None:
        run = Path(shutil.copytree(s["run"], tmp / "run"))
        path = run / "checkpoints" / "latest" / "trainer.json"
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return setup


def without(key: str) -> Callable[[dict], dict]:
    def change(meta: dict) -> dict:
        del meta["trainer"][key]
        return meta

    return change


def with_value(key: str, value: object) -> Callable[[dict], dict]:
    def change(meta: dict) -> dict:
        meta["trainer"][key] = value
        return meta

    return change


def an_array(values: str) -> Callable[[Path, dict[str, Path]], None]:
    """frames.npy of 1200 tiny sequences, and labels.csv: ``values`` is 'ids', 'negative' or 'ok'."""

    def setup(tmp: Path, s: dict[str, Path]) -> None:
        rng = np.random.default_rng(0)
        frames = rng.integers(0, 256, size=(1200, 2, 4, 4, 1), dtype=np.uint8)
        np.save(tmp / "frames.npy", frames)
        labels = {"ids": np.arange(1200), "negative": -np.ones(1200, int), "ok": np.arange(1200) % 3}[values]
        np.save(tmp / "labels.npy", labels)

    return setup


def a_nan_array(tmp: Path, s: dict[str, Path]) -> None:
    frames = np.full((4, 2, 3), np.nan, np.float32)
    np.save(tmp / "frames.npy", frames)


# -- the table -------------------------------------------------------------------------------

T = ["train", "--preset", "shapes", "--quiet", *TINY]
NEW = ["--data", "{data}", "--out", "{tmp}/r"]
EV = ["evaluate", "{run}", "--judge", "{tmp}/judge", "--quiet"]
J = ["judge", "--data", "{data}", "--quiet"]
SH = ["data", "shapes", "--train", "8", "--test", "4", "--frames", "2", "--size", "32", "--quiet"]

CLI_ROWS: list[tuple[str, list[str], str, Callable | None]] = [
    # dsvae train: config values
    ("train lr NaN", [*T, *NEW, "train.lr=NaN"], r"train\.lr must be a finite number, got nan", None),
    ("train lr inf", [*T, *NEW, "train.lr=Infinity"], r"train\.lr must be a finite number, got inf", None),
    ("train KL weight NaN", [*T, *NEW, "train.kl_f_weight=NaN"], r"train\.kl_f_weight must be a finite", None),
    ("train KL weight -inf", [*T, *NEW, "train.kl_z_weight=-Infinity"], r"train\.kl_z_weight must be a finite", None),
    ("train betas one value", [*T, *NEW, "train.betas=[0.9]"], r"train\.betas must be a list of 2 values", None),
    ("train betas out of range", [*T, *NEW, "train.betas=[1.5,0.9]"], r"train\.betas must be two numbers in", None),
    ("train betas text", [*T, *NEW, "train.betas=fast"], r"train\.betas must be a list", None),
    ("train betas NaN", [*T, *NEW, "train.betas=[NaN,0.9]"], r"train\.betas must be a finite number", None),
    ("train steps negative", [*T, *NEW, "--steps", "-5"], r"--steps must be a positive number", None),
    ("train steps zero", [*T, *NEW, "--steps", "0"], r"--steps must be a positive number", None),
    ("train unknown key", [*T, *NEW, "train.lrr=1"], r"unknown config key 'train\.lrr'", None),
    ("train contrastive weight negative", [*T, *NEW, "train.contrastive_f_weight=-1"],
     r"train\.contrastive_f_weight must be >= 0, got -1\.0", None),
    ("train contrastive temperature zero", [*T, *NEW, "train.contrastive_temperature=0"],
     r"train\.contrastive_temperature must be > 0, got 0\.0", None),
    ("train contrastive unknown key", [*T, *NEW, "train.contrastive_weight=1"],
     r"unknown config key 'train\.contrastive_weight'", None),
    ("train device cuda", [*T, *NEW, "train.device=cuda"], r"no CUDA device is available", None),
    # dsvae train: output folders
    ("train out is a file", [*T, "--data", "{data}", "--out", "{tmp}/file"], r"is a file, not a folder", a_file),
    ("train out under a file", [*T, "--data", "{data}", "--out", "{tmp}/file/r"], r"file/r: \S+ is a file", a_file),
    ("train out non-empty", [*T, "--data", "{data}", "--out", "{tmp}/other"], r"not empty and is not a run folder",
     a_full_folder),
    ("train out is the data", [*T, "--data", "{data}", "--out", "{data}"], r"not empty and is not a run folder", None),
    ("train out holds a run", [*T, "--data", "{data}", "--out", "{run}"], r"already holds a run; continue it with "
     r"--resume", None),
    ("train out and resume", [*T, "--out", "{tmp}/r", "--resume", "{run}"], r"give either --out .* not both", None),
    ("train resume not a run", [*T, "--resume", "{tmp}/other"], r"config\.json does not exist", a_full_folder),
    ("train resume changed", [*T, "--resume", "{run}", "model.dim_z=7"], r"cannot resume .* model\.dim_z=7", None),
    ("train state no step", [*T, "--resume", "{tmp}/run"], r"step must be an integer >= 0, got None",
     run_copy_with_state(without("step"))),
    ("train state text step", [*T, "--resume", "{tmp}/run"], r"step must be an integer >= 0, got 'x'",
     run_copy_with_state(with_value("step", "x"))),
    ("train state no skipped", [*T, "--resume", "{tmp}/run"], r"skipped_steps must be an integer",
     run_copy_with_state(without("skipped_steps"))),
    ("train state bad best", [*T, "--resume", "{tmp}/run"], r"best_test_elbo must be a number or null",
     run_copy_with_state(with_value("best_test_elbo", "high"))),
    ("train state not object", [*T, "--resume", "{tmp}/run"], r"not an object with a 'trainer' entry",
     run_copy_with_state(lambda meta: [meta])),
    # dsvae train: data folders
    ("train data missing", [*T, "--data", "{tmp}/nothing", "--out", "{tmp}/r"], r"data folder \S+ does not exist",
     None),
    ("train meta not object", [*T, "--data", "{tmp}/data", "--out", "{tmp}/r"], r"must be a JSON object, got list",
     meta_not_object),
    ("train meta deep", [*T, "--data", "{tmp}/data", "--out", "{tmp}/r"], r"nested too deeply", meta_deep),
    ("train meta dtype int16", [*T, "--data", "{tmp}/data", "--out", "{tmp}/r"], r"dtype must be uint8 or float32",
     meta_bad_dtype),
    ("train frames float 0-255", [*T, "--data", "{tmp}/data", "--out", "{tmp}/r"],
     r"holds float32, meta\.json says uint8", frames_as(np.float32)),
    ("train frames int16", [*T, "--data", "{tmp}/data", "--out", "{tmp}/r"], r"holds int16, meta\.json says uint8",
     frames_as(np.int16)),
    ("train labels out of range", [*T, "--data", "{tmp}/data", "--out", "{tmp}/r"],
     r"labels of factor 'motion' run from \d+ to 99, but it has \d+ classes", labels_out_of_range),
    # dsvae data
    ("data out holds data", [*SH, "--out", "{data}"], r"already holds a data folder; pass --overwrite", None),
    ("data out is a file", [*SH, "--out", "{tmp}/file"], r"is a file, not a folder", a_file),
    ("data out under a file", [*SH, "--out", "{tmp}/file/d"], r"is a file, not a folder", a_file),
    ("data out non-empty", [*SH, "--out", "{tmp}/other"], r"not empty and is not a data folder", a_full_folder),
    ("data out is a run", [*SH, "--out", "{run}"], r"not empty and is not a data folder", None),
    ("data shapes no sequences", ["data", "shapes", "--train", "0", "--out", "{tmp}/d"], r"--train must be >= 1",
     None),
    ("data labels id column", ["data", "array", "--quiet", "--from-array", "{tmp}/frames.npy", "--labels",
     "{tmp}/labels.npy", "--out", "{tmp}/d"], r"1200 distinct labels; a factor may have at most 1000", an_array("ids")),
    ("data labels negative", ["data", "array", "--quiet", "--from-array", "{tmp}/frames.npy", "--labels",
     "{tmp}/labels.npy", "--out", "{tmp}/d"], r"negative labels", an_array("negative")),
    ("data array NaN", ["data", "array", "--quiet", "--from-array", "{tmp}/frames.npy", "--out", "{tmp}/d"],
     r"values must be finite", a_nan_array),
    # dsvae judge (refused before its training)
    ("judge out is a file", [*J, "--out", "{tmp}/file"], r"is a file, not a folder", a_file),
    ("judge out under a file", [*J, "--out", "{tmp}/file/j"], r"is a file, not a folder", a_file),
    ("judge out non-empty", [*J, "--out", "{tmp}/other"], r"not empty and is not a judge folder", a_full_folder),
    ("judge out is a run", [*J, "--out", "{run}"], r"not empty and is not a judge folder", None),
    ("judge steps negative", [*J, "--out", "{tmp}/j", "--steps", "-5"], r"judge\.steps must be a positive", None),
    ("judge threshold NaN", [*J, "--out", "{tmp}/j", "--threshold", "nan"], r"threshold must be a finite number",
     None),
    ("judge labels out of range", ["judge", "--quiet", "--data", "{tmp}/data", "--out", "{tmp}/j"],
     r"labels of factor 'motion' run from", labels_out_of_range),
    # dsvae evaluate (refused before its scoring)
    ("evaluate device cuda", [*EV, "device=cuda"], r"device=cuda but no CUDA device is available", None),
    ("evaluate run missing", ["evaluate", "{tmp}/none", "--judge", "{tmp}/j"], r"run folder \S+ does not exist",
     None),
    ("evaluate out is a file", [*EV, "--out", "{tmp}/file"], r"is a file, not a folder", a_file),
    ("evaluate out non-empty", [*EV, "--out", "{tmp}/other"], r"not empty and is not a evaluation folder",
     a_full_folder),
    ("evaluate out holds one", [*EV, "--out", "{tmp}/ev"], r"already holds a evaluation folder; pass --overwrite",
     an_old_evaluation),
    ("evaluate samples negative", [*EV, "--samples", "-1"], r"eval\.samples must be a positive integer", None),
    ("evaluate seed NaN", [*EV, "seed=NaN"], r"seed must be an integer", None),
    # dsvae quickstart
    ("quickstart out non-empty", ["quickstart", "--quiet", "--out", "{tmp}/other"],
     r"not empty and is not a quickstart folder", a_full_folder),
    ("quickstart out is a file", ["quickstart", "--quiet", "--out", "{tmp}/file"], r"is a file, not a folder",
     a_file),
    ("quickstart lr NaN", ["quickstart", "--quiet", "--out", "{tmp}/q", "train.lr=NaN"], r"train\.lr must be a finite",
     None),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message", "setup"), [r[1:] for r in CLI_ROWS], ids=[r[0] for r in CLI_ROWS])
def test_cli_refuses_with_one_line(
    argv: list[str],
    message: str,
    setup: Callable | None,
    shared: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    if setup is not None:
        setup(tmp_path, shared)
    names = {"{tmp}": str(tmp_path), "{data}": str(shared["data"]), "{run}": str(shared["run"])}
    args = []
    for a in argv:
        for k, v in names.items():
            a = a.replace(k, v)
        args.append(a)
    before = tree(tmp_path, shared["data"], shared["run"])
    capsys.readouterr()
    status = main(args)
    err = capsys.readouterr().err
    assert status == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dsvae: error: "), err
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in err
    assert tree(tmp_path, shared["data"], shared["run"]) == before  # nothing written, nothing half-written


# -- the Python API ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> DSVAE:
    return DSVAE(DSVAEConfig(**TINY_MODEL))


def x(*shape: int) -> torch.Tensor:
    return torch.rand(*(shape or (2, 4, 3, 32, 32)))


def nan_frames() -> torch.Tensor:
    t = x()
    t[1, 2, 0, 3, 3] = math.nan
    return t


def zeros(*shape: int) -> torch.Tensor:
    return torch.zeros(shape)


API_ROWS: list[tuple[str, Callable[[DSVAE], object], str]] = [
    ("forward float64", lambda m: m(x().double()), r"frames must be torch\.float32 .* got torch\.float64"),
    ("forward half", lambda m: m(x().half()), r"frames must be torch\.float32 .* got torch\.float16"),
    ("forward bfloat16", lambda m: m.encode(x().bfloat16()), r"got torch\.bfloat16; use x\.to\(torch\.float32\)"),
    ("forward uint8", lambda m: m((x() * 255).to(torch.uint8)), r"got dtype torch\.uint8; divide uint8 by 255"),
    ("forward 0-255", lambda m: m(x() * 255), r"must lie in \[0, 1\] .* divide 0-255 images by 255"),
    ("forward negative", lambda m: m(x() - 0.5), r"must lie in \[0, 1\] for a Bernoulli model, got values from -"),
    ("forward NaN", lambda m: m(nan_frames()), r"frames must be finite, got values from nan"),
    ("encode inf", lambda m: m.encode(x() / 0), r"frames must be finite, got values from \S+ to inf"),
    ("forward B=0", lambda m: m(zeros(0, 4, 3, 32, 32)), r"at least one sequence .* got \(0, 4, 3, 32, 32\)"),
    ("encode T=0", lambda m: m.encode(zeros(2, 0, 3, 32, 32)), r"got \(2, 0, 3, 32, 32\)"),
    ("forward list", lambda m: m([[0.0]]), r"expected a torch\.Tensor of frames, got list"),
    ("forward wrong frame", lambda m: m(x(2, 4, 3, 16, 16)), r"frame shape \(3, 32, 32\) for this model"),
    ("decode list", lambda m: m.decode([0.0] * 8, torch.zeros(1, 4, 4)), r"decode needs f as a torch\.Tensor"),
    ("decode numpy", lambda m: m.decode(torch.zeros(1, 8), np.zeros((1, 4, 4))), r"z as a torch\.Tensor, got ndarray"),
    ("decode float64", lambda m: m.decode(torch.zeros(1, 8).double(), torch.zeros(1, 4, 4)),
     r"f as torch\.float32 .* got torch\.float64"),
    ("decode T=0", lambda m: m.decode(torch.zeros(1, 8), torch.zeros(1, 0, 4)), r"decode needs B >= 1 and T >= 1"),
    ("decode NaN", lambda m: m.decode(torch.full((1, 8), math.nan), torch.zeros(1, 4, 4)), r"f must be finite"),
    ("from_pretrained cuda", lambda m: DSVAE.from_pretrained("no-such", map_location="cuda")
     if not torch.cuda.is_available() else pytest.skip("has CUDA"), r"no CUDA device is available"),
    ("from_pretrained missing", lambda m: DSVAE.from_pretrained("no-such-folder"), r"not a folder saved by"),
    ("config NaN weight", lambda m: TrainConfig(kl_z_weight=math.nan), r"train\.kl_z_weight must be a finite number"),
    ("train config NaN lr", lambda m: TrainConfig(lr=math.nan), r"train\.lr must be a finite number"),
    ("train config betas", lambda m: TrainConfig(betas=(0.9,)), r"train\.betas must be two numbers"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), [r[1:] for r in API_ROWS], ids=[r[0] for r in API_ROWS])
def test_api_raises_one_clear_line(call: Callable[[DSVAE], object], message: str, model: DSVAE) -> None:
    with pytest.raises(DSVAEError) as info:
        call(model)
    text = str(info.value)
    assert "\n" not in text and re.search(message, text), text


def test_a_read_only_parent_is_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; the rows with a path under a file cover this check")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main([*SH, "--out", str(locked / "d")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is not writable" in err
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_data_overwrite_replaces_an_earlier_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "d"
    assert main([*SH, "--out", str(out), "--seed", "1"]) == 0
    first = (out / "train" / "frames.npy").read_bytes()
    assert main([*SH, "--out", str(out), "--seed", "2", "--overwrite"]) == 0
    assert (out / "train" / "frames.npy").read_bytes() != first  # the new build, swapped in
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no staging or old copy left
