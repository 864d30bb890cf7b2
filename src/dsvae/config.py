"""Typed configuration: the model's dataclass and the machinery every config shares.

Each concern (model, data, train, eval) has a small ``@dataclass`` whose fields carry a
comment saying what they are and why the default; ``__post_init__`` checks them and names
the field in its message. :func:`apply_overrides` sets fields from ``dotted.key=value``
strings (the CLI's overrides) and rejects unknown keys and wrong types by name.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from dsvae.errors import DSVAEError

C = TypeVar("C")

Prior = Literal["improved", "lstm"]
EncoderKind = Literal["factorised", "full"]
FAggregate = Literal["lstm", "mean"]
Likelihood = Literal["bernoulli", "gaussian"]
# the KL weights are training choices (TrainConfig); configs written before they moved still load
MOVED_TO_TRAIN = ("kl_f_weight", "kl_z_weight")


@dataclass
class DSVAEConfig:
    """The DSA model. Defaults are the design note's (dim_z=32, dim_f=256, dim_h=256,
    dim_hidden=512, n_channels=256, 8 frames of 64x64x3)."""

    n_frames: int = 8  # T: frames per sequence (the Sprites benchmark uses 8)
    channels: int = 3  # C: image channels (3 for RGB sprites, 1 for Moving MNIST)
    image_size: int = 64  # H = W: a power of two >= 8 (the decoder doubles from 4x4)
    frame_dim: int = 0  # >0: frames are vectors of this length (e.g. 80 log-mel bins); MLPs replace convs
    dim_z: int = 32  # Z: dynamic latent per frame; small, so z_t cannot carry the content (note)
    dim_f: int = 256  # F: static latent per sequence; large, balancing p(f) against p(z) (note)
    dim_h: int = 256  # Hd: width of the prior network's MLPs and LSTM cell, and of q(f)'s bi-LSTM (note)
    dim_hidden: int = 512  # D: width of the decoder's MLP and of the frame features (note)
    n_channels: int = 256  # K: channels of the deconv net (note); image quality, not disentanglement
    encoder_channels: int = 0  # channels of the encoder's conv net; 0 means the same as n_channels
    prior: Prior = "improved"  # "improved": the note's MLP1-4 + LSTM cell; "lstm": the paper's plain LSTM
    encoder: EncoderKind = "factorised"  # "factorised": q(f|x)q(z_t|x_t) (note); "full": q(z|x,f) by bi-LSTM + RNN
    f_aggregate: FAggregate = "lstm"  # how q(f) reads the frames: "lstm" (paper's bi-LSTM) or "mean" pooling
    likelihood: Likelihood = "bernoulli"  # "bernoulli" for intensities in [0, 1]; "gaussian" for unbounded features
    posterior_init_std: float = 0.0  # >0: q(f) and q(z_t) start at this std (init only); 0: PyTorch's default init

    def __post_init__(self) -> None:
        check_finite_floats(self, "model")
        check_positive(self, ("n_frames", "channels", "dim_z", "dim_f", "dim_h", "dim_hidden", "n_channels"), "model")
        if self.frame_dim < 0:
            raise DSVAEError(f"model.frame_dim must be >= 0 (0 means image frames), got {self.frame_dim}")
        if self.encoder_channels < 0:
            raise DSVAEError(f"model.encoder_channels must be >= 0, got {self.encoder_channels}")
        if not self.is_vector:
            s = self.image_size
            if s < 8 or s & (s - 1):
                raise DSVAEError(
                    f"model.image_size must be a power of two >= 8 (the decoder doubles from 4x4), got {s}"
                )
        check_choices(self, "model")
        if self.posterior_init_std < 0:
            raise DSVAEError(f"model.posterior_init_std must be >= 0 (0: default init), got {self.posterior_init_std}")

    @staticmethod
    def upgrade(data: dict[str, Any]) -> dict[str, Any]:
        """A model config as older versions wrote it, in today's keys (the KL weights are dropped:
        they moved to the training config and never changed the model)."""
        return {k: v for k, v in data.items() if k not in MOVED_TO_TRAIN}

    @property
    def is_vector(self) -> bool:
        """True when frames are feature vectors (B, T, frame_dim) rather than images."""
        return self.frame_dim > 0

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """Shape of one frame: (C, H, W) for images, (frame_dim,) for vectors."""
        if self.is_vector:
            return (self.frame_dim,)
        return (self.channels, self.image_size, self.image_size)

    @property
    def enc_channels(self) -> int:
        """Channels of the encoder's conv net."""
        return self.encoder_channels or self.n_channels


def check_positive(cfg: Any, names: Iterable[str], prefix: str) -> None:
    """Refuse any of the integer fields ``names`` of ``cfg`` that is not a positive integer."""
    for name in names:
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise DSVAEError(f"{prefix}.{name} must be a positive integer, got {value!r}")


def check_finite_floats(cfg: Any, prefix: str) -> None:
    """Refuse NaN and infinities in every float field (a NaN passes every ``<`` check silently)."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        values = value if isinstance(value, (tuple, list)) else (value,)
        for v in values:
            if isinstance(v, float) and not math.isfinite(v):
                raise DSVAEError(f"{prefix}.{f.name} must be a finite number, got {value!r}")


def choices(tp: Any) -> tuple[Any, ...] | None:
    """The values of a ``Literal[...]`` annotation (also inside ``X | None``), else None."""
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            found = choices(arg)
            if found is not None:
                return found
    return None


def check_choices(cfg: Any, prefix: str) -> None:
    """Refuse any field annotated ``Literal[...]`` whose value is not one of its choices."""
    for name, tp in typing.get_type_hints(type(cfg)).items():
        allowed = choices(tp)
        value = getattr(cfg, name, None)
        if allowed is not None and value not in allowed and not (value is None and _is_optional(tp)):
            raise DSVAEError(f"{prefix}.{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")


def _is_optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


# ---------------------------------------------------------------------------------------------
# Generic machinery: dict round trips and dotted overrides, for any (nested) config dataclass.
# ---------------------------------------------------------------------------------------------


def to_dict(cfg: Any) -> dict[str, Any]:
    """A config dataclass (possibly nested) as plain JSON-ready values."""
    return dataclasses.asdict(cfg)


def from_dict(cls: type[C], data: dict[str, Any], where: str = "config") -> C:
    """Build ``cls`` from a plain dict; an unknown key or a wrong type is a :class:`DSVAEError`."""
    if not isinstance(data, dict):
        raise DSVAEError(f"{where} must be a JSON object, got {type(data).__name__}")
    upgrade = getattr(cls, "upgrade", None)
    if upgrade is not None:
        data = upgrade(data)  # keys of older versions, in today's places
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise DSVAEError(f"{where}: unknown key {where_key(where, unknown[0])}; known: {', '.join(sorted(names))}")
    kwargs = {}
    for key, value in data.items():
        kwargs[key] = _coerce(hints[key], value, where_key(where, key))
    return cls(**kwargs)


def where_key(where: str, key: str) -> str:
    return key if where == "config" else f"{where}.{key}"


def _coerce(tp: Any, value: Any, name: str) -> Any:
    """Check (and gently convert) ``value`` against the annotation ``tp``."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_dict(tp, value, name)
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value in typing.get_args(tp) and not isinstance(value, bool):
            return value
        raise DSVAEError(f"{name} must be one of {', '.join(map(str, typing.get_args(tp)))}; got {value!r}")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, name)
            except DSVAEError as exc:
                errors.append(str(exc))
        raise DSVAEError(errors[0] if errors else f"{name}: bad value {value!r}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise DSVAEError(f"{name} must be a list, got {value!r}")
        args = typing.get_args(tp) or (Any,)
        if origin is tuple and Ellipsis not in args and len(value) != len(args):
            raise DSVAEError(f"{name} must be a list of {len(args)} values, got {value!r}")
        (arg, *_rest) = args
        items = [_coerce(arg, v, name) if arg is not Any else v for v in value]
        return tuple(items) if origin is tuple else items
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise DSVAEError(f"{name} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise DSVAEError(f"{name} must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise DSVAEError(f"{name} must be a finite number, got {value!r}")
            return float(value)
        raise DSVAEError(f"{name} must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise DSVAEError(f"{name} must be a string, got {value!r}")
    return value


def _parse_text(text: str) -> Any:
    """A CLI value: JSON if it parses (numbers, true/false, null, lists), else a plain string."""
    lowered = text.strip()
    if lowered in ("True", "False"):
        return lowered == "True"
    if lowered.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return float(lowered)  # so that the field's check names it as not finite
    try:
        return json.loads(lowered)
    except json.JSONDecodeError:
        return text


def apply_overrides(cfg: C, overrides: list[str]) -> C:
    """Return a copy of ``cfg`` with ``dotted.key=value`` overrides applied and re-validated.

    >>> apply_overrides(RunConfig(), ["model.dim_z=16", "train.lr=1e-3"])  # doctest: +SKIP
    """
    data = to_dict(cfg)
    moved: dict[str, str] = getattr(type(cfg), "MOVED_KEYS", {})  # old dotted keys still accepted
    for item in overrides:
        if "=" not in item:
            raise DSVAEError(f"override {item!r} must look like section.field=value")
        key, text = item.split("=", 1)
        key = moved.get(key.strip(), key.strip())
        parts = key.split(".")
        node: Any = data
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                known = ", ".join(sorted(node)) if isinstance(node, dict) else ""
                raise DSVAEError(f"unknown config key {'.'.join(parts[: i + 1])!r}; known here: {known}")
            if i == len(parts) - 1:
                if isinstance(node[part], dict):
                    raise DSVAEError(f"config key {key!r} is a section; set one of its fields")
                node[part] = _parse_text(text)
            else:
                node = node[part]
    return from_dict(type(cfg), data)


__all__ = [
    "DSVAEConfig",
    "apply_overrides",
    "field",
    "from_dict",
    "to_dict",
]
