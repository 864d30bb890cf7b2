"""Saving and loading a module as a folder: ``config.json`` plus ``model.safetensors``.

Loading never unpickles: weights come from safetensors, the config from JSON, and any
mismatch (another kind of module, another architecture, a corrupt file) is a clear
:class:`~dsvae.errors.DSVAEError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from dsvae.errors import DSVAEError
from dsvae.io import load_tensors, read_json, save_tensors, write_json

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
FORMAT_VERSION = 1


def save_module(path: str | Path, kind: str, config: dict[str, Any], module: nn.Module) -> None:
    """Write ``module``'s weights and ``config`` under ``path`` (weights first, config last)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DSVAEError(f"cannot save to {path}: it exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)
    save_tensors(path / WEIGHTS_NAME, module.state_dict(), metadata={"kind": kind})
    write_json(path / CONFIG_NAME, {"kind": kind, "format_version": FORMAT_VERSION, "config": config})


def model_card(data_name: str, step: int, config: dict[str, Any], scores: dict[str, float] | None = None) -> str:
    """A short README.md for a checkpoint folder: what was trained on what, for how long, and how well."""
    model, train = config.get("model", {}), config.get("train", {})
    size = model.get("image_size")
    shape = f"{model['frame_dim']} features" if model.get("frame_dim") else f"{model.get('channels')}x{size}x{size}"
    lines = [
        "# DSVAE checkpoint",
        "",
        "A Disentangled Sequential Autoencoder (Li & Mandt, ICML 2018) with the improved prior network, "
        "trained with the `dsvae` package. Load it with `DSVAE.from_pretrained(this_folder)`.",
        "",
        f"- data set: {data_name}",
        f"- steps trained: {step}",
        f"- frames: {model.get('n_frames')} of {shape}; likelihood {model.get('likelihood')}",
        f"- latents: f {model.get('dim_f')}, z_t {model.get('dim_z')}; prior {model.get('prior')}, "
        f"encoder {model.get('encoder')}",
        f"- training: lr {train.get('lr')}, batch {train.get('batch_size')} per process, "
        f"{train.get('max_steps')} steps planned, seed {train.get('seed')}",
    ]
    if scores:
        lines += ["", "## Scores", "", *(f"- {k}: {v:.4g}" for k, v in scores.items())]
    lines += ["", "The full configuration is in `config.json`; the weights in `model.safetensors`.", ""]
    return "\n".join(lines)


def read_config(path: str | Path, kind: str) -> dict[str, Any]:
    """The ``config`` block of a saved folder, checking that it holds a ``kind``."""
    path = Path(path)
    if not path.is_dir():
        raise DSVAEError(f"{path} is not a folder saved by save_pretrained")
    meta = read_json(path / CONFIG_NAME, what="config file")
    if not isinstance(meta, dict) or meta.get("kind") != kind or "config" not in meta:
        found = meta.get("kind") if isinstance(meta, dict) else None
        raise DSVAEError(f"{path} does not hold a {kind} (its config.json says {found!r})")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise DSVAEError(f"{path} was saved by a newer dsvae (format {meta['format_version']}); upgrade dsvae")
    return meta["config"]


def load_weights(path: str | Path, module: nn.Module) -> None:
    """Load ``model.safetensors`` into ``module``, which must have exactly the same architecture."""
    path = Path(path)
    state = load_tensors(path / WEIGHTS_NAME)
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        what = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise DSVAEError(
            f"weights in {path} do not match the architecture in its config.json ({what}); "
            "the folder was written by a different model"
        )
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise DSVAEError(
                f"weights in {path} do not match its config.json: {name} has shape "
                f"{tuple(tensor.shape)}, the architecture needs {tuple(expected[name].shape)}"
            )
    with torch.no_grad():
        module.load_state_dict(state, strict=True)
