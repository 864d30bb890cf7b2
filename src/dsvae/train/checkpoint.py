"""Training checkpoints: model, optimizer, grad scaler and RNG state, without pickles.

A checkpoint folder is a ``save_pretrained`` folder (``config.json`` + ``model.safetensors``,
loadable by ``DSVAE.from_pretrained``) plus ``trainer.safetensors`` (optimizer moments, RNG
states) and ``trainer.json`` (step, counters, optimizer hyper-parameters). With a weight
average (``train.ema_decay``), ``model.safetensors`` holds the average and
``trainer.safetensors`` the training weights too (``train.<name>``). It is written into a
temporary sibling and swapped in by renames (:func:`dsvae.outputs.atomic_folder`), so a kill at
any moment leaves either the old or the new checkpoint complete (``.<name>.old`` survives a kill
between the two renames and is picked up by :func:`find_checkpoint`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from dsvae.errors import DSVAEError
from dsvae.io import load_tensors, read_json, save_tensors, write_json
from dsvae.model import DSVAE
from dsvae.outputs import atomic_folder, old_path
from dsvae.pretrained import CARD_NAME, load_weights

TRAINER_TENSORS = "trainer.safetensors"
TRAINER_JSON = "trainer.json"
TRAINING_WEIGHTS = "train."  # prefix of the training weights in trainer.safetensors (runs with a weight average)


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for idx, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{idx}.{key}"] = value
            else:
                scalars[f"{idx}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for name, value in meta["scalars"].items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    folder: Path,
    model: DSVAE,
    optimizer: torch.optim.Optimizer | None,
    trainer_state: dict[str, Any],
    scaler: torch.amp.GradScaler | None = None,
    card: str | None = None,
    training: torch.nn.Module | None = None,
) -> None:
    """Write a complete checkpoint to ``folder`` atomically (temp folder, then rename swap).

    ``card``: the text of a model card, written as ``README.md`` beside the weights.
    ``training``: with a weight average, ``model`` is the average and this the model being trained.
    """
    states = [model.state_dict()] + ([training.state_dict()] if training is not None else [])
    for name, p in ((n, p) for state in states for n, p in state.items()):
        if not torch.isfinite(p).all():
            raise DSVAEError(f"refusing to checkpoint non-finite weights ({name}); the run has diverged")
    with atomic_folder(folder) as tmp:
        model.save_pretrained(tmp)
        tensors: dict[str, torch.Tensor] = {"rng.cpu": torch.get_rng_state()}
        if training is not None:
            tensors.update({TRAINING_WEIGHTS + n: p.detach() for n, p in states[1].items()})
        if torch.cuda.is_available():
            for i, s in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"rng.cuda.{i}"] = s
        meta: dict[str, Any] = {"trainer": trainer_state}
        if optimizer is not None:
            opt_tensors, meta["optimizer"] = _flatten_optimizer(optimizer.state_dict())
            tensors.update(opt_tensors)
        if scaler is not None and scaler.is_enabled():
            meta["scaler"] = scaler.state_dict()
        save_tensors(tmp / TRAINER_TENSORS, tensors)
        write_json(tmp / TRAINER_JSON, meta)
        if card is not None:
            (tmp / CARD_NAME).write_text(card, encoding="utf-8")


def find_checkpoint(folder: Path) -> Path | None:
    """``folder`` if complete, else the previous one left by a kill mid-swap, else None."""
    for candidate in (folder, old_path(folder)):
        if (candidate / TRAINER_JSON).is_file() and (candidate / "model.safetensors").is_file():
            return candidate
    return None


def load_checkpoint(
    folder: Path,
    model: DSVAE,
    optimizer: torch.optim.Optimizer | None,
    scaler: torch.amp.GradScaler | None = None,
    restore_rng: bool = True,
    average: torch.nn.Module | None = None,
) -> dict[str, Any]:
    """Load weights, optimizer and RNG state into the given objects; return the checked trainer state.

    ``model`` receives the training weights: ``model.safetensors``, or the ``train.*`` tensors
    where the run kept a weight average; ``average`` (a run with ``train.ema_decay`` > 0) receives
    that average and needs a checkpoint written with one.
    """
    meta = read_json(folder / TRAINER_JSON, what="trainer state")
    where = folder / TRAINER_JSON
    if not isinstance(meta, dict) or not isinstance(meta.get("trainer"), dict):
        raise DSVAEError(f"trainer state {where} is not an object with a 'trainer' entry; the checkpoint is damaged")
    trainer = meta["trainer"]
    tensors = load_tensors(folder / TRAINER_TENSORS, what="trainer state")
    if restore_rng and not isinstance(tensors.get("rng.cpu"), torch.Tensor):
        raise DSVAEError(f"{folder / TRAINER_TENSORS} has no rng.cpu state; the checkpoint is damaged")
    training = {n[len(TRAINING_WEIGHTS) :]: t for n, t in tensors.items() if n.startswith(TRAINING_WEIGHTS)}
    if average is not None and not training:
        raise DSVAEError(
            f"the checkpoint {folder} was written without a weight average (train.ema_decay=0); "
            "resume it with train.ema_decay=0, or start a new run to average the weights"
        )
    if training:
        if average is not None:
            load_weights(folder, average)
        try:
            with torch.no_grad():
                model.load_state_dict(training, strict=True)
        except RuntimeError as exc:
            raise DSVAEError(
                f"the training weights in {folder / TRAINER_TENSORS} do not fit this model ({exc})"
            ) from exc
    else:
        load_weights(folder, model)
    if optimizer is not None and "optimizer" in meta:
        try:
            state = _unflatten_optimizer(tensors, meta["optimizer"])
            optimizer.load_state_dict(state)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise DSVAEError(f"optimizer state in {folder} is damaged or does not fit this model ({exc})") from exc
    if scaler is not None and "scaler" in meta:
        try:
            scaler.load_state_dict(meta["scaler"])
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise DSVAEError(f"grad-scaler state in {where} is damaged ({exc})") from exc
    if restore_rng:
        try:
            torch.set_rng_state(tensors["rng.cpu"])
        except (RuntimeError, TypeError) as exc:
            raise DSVAEError(f"the RNG state in {folder / TRAINER_TENSORS} is damaged ({exc})") from exc
        n_cuda = sum(1 for k in tensors if k.startswith("rng.cuda."))
        if n_cuda and torch.cuda.is_available() and n_cuda == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([tensors[f"rng.cuda.{i}"] for i in range(n_cuda)])
    return trainer


def check_trainer_state(state: dict[str, Any], where: Path) -> dict[str, Any]:
    """The Trainer's fields: ``step``, ``skipped_steps`` integers >= 0, ``best_test_elbo`` a finite number or null."""
    for name in ("step", "skipped_steps"):
        value = state.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise DSVAEError(
                f"trainer state {where}: {name} must be an integer >= 0, got {value!r}; the checkpoint is damaged"
            )
    best = state.get("best_test_elbo")
    if best is not None and (not isinstance(best, (int, float)) or isinstance(best, bool) or not math.isfinite(best)):
        raise DSVAEError(f"trainer state {where}: best_test_elbo must be a number or null, got {best!r}")
    return {**state, "best_test_elbo": None if best is None else float(best)}
