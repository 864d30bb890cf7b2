"""save_pretrained / from_pretrained: identical outputs, clear errors, no pickles."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from dsvae import DSVAE, DSVAEConfig, DSVAEError


def test_round_trip_gives_identical_outputs(tiny_config: DSVAEConfig, tmp_path: Path) -> None:
    model = DSVAE(dataclasses.replace(tiny_config, encoder="full", prior="lstm")).eval()
    model.save_pretrained(tmp_path / "m")
    loaded = DSVAE.from_pretrained(tmp_path / "m").eval()
    assert loaded.config == model.config
    x = torch.rand(2, 4, 3, 16, 16)
    post_a, post_b = model.encode(x), loaded.encode(x)
    torch.testing.assert_close(post_a.z_mean, post_b.z_mean, rtol=0, atol=0)
    torch.testing.assert_close(model.reconstruct(x), loaded.reconstruct(x), rtol=0, atol=0)
    torch.manual_seed(3)
    a = model(x).loss
    torch.manual_seed(3)
    b = loaded(x).loss
    assert a.item() == b.item()
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]


def test_weights_from_a_different_architecture_are_refused(tiny_config: DSVAEConfig, tmp_path: Path) -> None:
    DSVAE(tiny_config).save_pretrained(tmp_path / "a")
    DSVAE(dataclasses.replace(tiny_config, dim_z=6)).save_pretrained(tmp_path / "b")
    # the weights of b beside the config of a
    (tmp_path / "a" / "model.safetensors").write_bytes((tmp_path / "b" / "model.safetensors").read_bytes())
    with pytest.raises(DSVAEError, match=r"different model|do not match"):
        DSVAE.from_pretrained(tmp_path / "a")


def test_corrupt_and_missing_files_are_refused(tiny_config: DSVAEConfig, tmp_path: Path) -> None:
    DSVAE(tiny_config).save_pretrained(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(DSVAEError, match="corrupt"):
        DSVAE.from_pretrained(tmp_path / "m")
    weights.unlink()
    with pytest.raises(DSVAEError, match="does not exist"):
        DSVAE.from_pretrained(tmp_path / "m")
    with pytest.raises(DSVAEError, match="not a folder"):
        DSVAE.from_pretrained(tmp_path / "nowhere")


def test_config_with_unknown_key_or_other_kind_is_refused(tiny_config: DSVAEConfig, tmp_path: Path) -> None:
    DSVAE(tiny_config).save_pretrained(tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    meta = json.loads(path.read_text())
    meta["config"]["dim_q"] = 3
    path.write_text(json.dumps(meta))
    with pytest.raises(DSVAEError, match="dim_q"):
        DSVAE.from_pretrained(tmp_path / "m")
    meta["kind"] = "judge"
    path.write_text(json.dumps(meta))
    with pytest.raises(DSVAEError, match="does not hold a dsvae"):
        DSVAE.from_pretrained(tmp_path / "m")
    path.write_text("{not json")
    with pytest.raises(DSVAEError, match="not valid JSON"):
        DSVAE.from_pretrained(tmp_path / "m")
