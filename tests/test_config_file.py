"""Config files (JSON, TOML) over presets, `dsvae config`, `dsvae train --config`, `--list-keys`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsvae.cli import build_parser, cmd_train, main
from dsvae.cli.keys import key_lines
from dsvae.config import apply_overrides, to_dict
from dsvae.config_file import apply_config_file
from dsvae.errors import DSVAEError
from dsvae.evaluate.judge import JudgeConfig
from dsvae.presets import get_preset
from dsvae.visualise.show import ShowConfig

PARTIAL_JSON = {"model": {"dim_z": 5, "prior": "lstm"}, "train": {"lr": 0.004, "betas": [0.8, 0.9]}}
PARTIAL_TOML = """
[model]
dim_z = 5
prior = "lstm"

[train]
lr = 0.004
betas = [0.8, 0.9]
"""


def test_a_partial_file_sets_its_fields_and_keeps_the_preset_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(PARTIAL_JSON))
    cfg = apply_config_file(get_preset("shapes"), path)
    assert (cfg.model.dim_z, cfg.model.prior, cfg.train.lr, cfg.train.betas) == (5, "lstm", 0.004, (0.8, 0.9))
    shapes = get_preset("shapes")
    assert cfg.model.dim_f == shapes.model.dim_f and cfg.train.max_steps == shapes.train.max_steps


def test_toml_and_json_files_give_the_same_config(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(json.dumps(PARTIAL_JSON))
    (tmp_path / "c.toml").write_text(PARTIAL_TOML)
    base = get_preset("sprites-cpu")
    assert apply_config_file(base, tmp_path / "c.toml") == apply_config_file(base, tmp_path / "c.json")


def test_a_runs_config_json_is_a_complete_config_file(tmp_path: Path) -> None:
    run_cfg = apply_overrides(get_preset("shapes"), ["model.dim_z=3", "data.path=/somewhere", "train.seed=7"])
    (tmp_path / "config.json").write_text(json.dumps(to_dict(run_cfg)))
    # laid over another preset, every field comes from the file
    assert apply_config_file(get_preset("note"), tmp_path / "config.json") == run_cfg


@pytest.mark.parametrize(
    "content,suffix,message",
    [
        ('{"model": {"dim_q": 3}}', ".json", "unknown key 'model.dim_q'"),
        ('{"modle": {}}', ".json", "unknown key 'modle'"),
        ('{"train": {"lr": "fast"}}', ".json", "train.lr must be a number"),
        ('{"model": 3}', ".json", "'model' is a section"),
        ("[model]\ndim_z = 1.5\n", ".toml", "model.dim_z must be an integer"),
        ("[model\n", ".toml", "not valid TOML"),
        ("{", ".json", "not valid JSON"),
        ("[1, 2]", ".json", "must hold an object"),
    ],
)
def test_bad_files_name_the_key_and_the_file(tmp_path: Path, content: str, suffix: str, message: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    with pytest.raises(DSVAEError) as err:
        apply_config_file(get_preset("shapes"), path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_dsvae_config_prints_the_preset_and_reads_back_as_a_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["config", "--preset", "shapes", "train.lr=0.003"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = to_dict(apply_overrides(get_preset("shapes"), ["train.lr=0.003"]))
    assert printed == json.loads(json.dumps(expected))  # tuples print as lists
    (tmp_path / "shapes.json").write_text(json.dumps(printed))
    assert main(["config", "--preset", "note", "--config", str(tmp_path / "shapes.json")]) == 0
    assert json.loads(capsys.readouterr().out) == printed


def test_dsvae_config_with_a_bad_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "bad.json").write_text('{"train": {"batch_size": true}}')
    assert main(["config", "--config", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train.batch_size must be an integer" in err and "bad.json" in err


def test_train_takes_the_file_then_the_command_lines_overrides(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(PARTIAL_TOML)
    args = build_parser().parse_args(
        [
            "train",
            "--preset",
            "shapes",
            "--config",
            str(tmp_path / "c.toml"),
            "--out",
            str(tmp_path / "run"),
            "train.lr=0.01",
        ]
    )
    cfg, run_dir, resume = cmd_train.resolve_config(args)
    assert (cfg.model.dim_z, cfg.train.lr, cfg.model.n_channels) == (5, 0.01, get_preset("shapes").model.n_channels)
    assert run_dir == tmp_path / "run" and not resume


def test_train_refuses_config_with_resume(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "c.json").write_text("{}")
    assert main(["train", "--resume", str(tmp_path), "--config", str(tmp_path / "c.json")]) == 2
    assert "--config starts a new run" in capsys.readouterr().err


@pytest.mark.parametrize("command,cls", [("show", ShowConfig), ("report", ShowConfig), ("judge", JudgeConfig)])
def test_list_keys_prints_keys_whose_defaults_apply_back(
    command: str, cls: type, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--list-keys"])  # no RUN or --data needed
    assert done.value.code == 0
    lines = capsys.readouterr().out.split()
    assert lines == key_lines(cls()) and len(lines) > 3
    assert apply_overrides(cls(), lines) == cls()  # every printed key is accepted, at its default


def test_every_command_with_keys_says_where_they_are_listed(capsys: pytest.CaptureFixture) -> None:
    for command in ("train", "evaluate", "show", "report", "judge", "info", "quickstart"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
        assert "--list-keys" in out or "dsvae config --preset" in out, command
