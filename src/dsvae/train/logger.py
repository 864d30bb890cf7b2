"""The run's record: metrics as JSON lines, a human log, the console, and TensorBoard (rank 0 only).

TensorBoard, when the optional package is installed, gets the scalars, the sample pictures
(reconstructions, swaps, prior samples), the hyper-parameters with the run's final figures,
and, once ``dsvae evaluate`` has run, the evaluation scores.
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from PIL import Image

from dsvae.io import atomic_write
from dsvae.run_folder import LOG_NAME, METRICS_NAME, TENSORBOARD_DIR, read_metrics


def tensorboard_writer(log_dir: Path) -> Any | None:
    """A TensorBoard SummaryWriter if the optional ``tensorboard`` package is installed, else None."""
    if importlib.util.find_spec("tensorboard") is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(log_dir))


class RunLogger:
    """Appends to ``metrics.jsonl`` and ``log.txt`` (and TensorBoard events); silent on ranks other than 0.

    Nothing is created before :meth:`open` (called once the run folder is locked and the model
    and its checkpoint are loaded); lines logged before it are kept and written then.
    """

    def __init__(self, run_dir: Path, enabled: bool, echo: bool = True, tensorboard: bool = True) -> None:
        self.run_dir, self.enabled, self.echo, self.tensorboard = run_dir, enabled, echo, tensorboard
        self.start = time.time()
        self._metrics: TextIO | None = None
        self._log: TextIO | None = None
        self._tb: Any | None = None
        self._pending: list[str] = []

    def open(self) -> None:
        if not self.enabled or self._log is not None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._metrics = open(self.run_dir / METRICS_NAME, "a", buffering=1)  # noqa: SIM115 (kept open for the run)
        self._log = open(self.run_dir / LOG_NAME, "a", buffering=1)  # noqa: SIM115
        self._tb = tensorboard_writer(self.run_dir / TENSORBOARD_DIR) if self.tensorboard else None
        for line in self._pending:
            self._log.write(line)
        self._pending.clear()

    def trim_metrics(self, step: int) -> None:
        """Drop metric records after ``step``: a resumed run repeats the steps its kill lost."""
        if not self.enabled:
            return
        path = self.run_dir / METRICS_NAME
        records = read_metrics(self.run_dir)
        kept = [r for r in records if isinstance(r.get("step"), int) and r["step"] <= step]
        if len(kept) == len(records):
            return
        if self._metrics is not None:
            self._metrics.close()
        text = "".join(json.dumps(r) + "\n" for r in kept)
        atomic_write(path, lambda p: p.write_text(text))
        if self._metrics is not None:
            self._metrics = open(path, "a", buffering=1)  # noqa: SIM115

    def metrics(self, step: int, split: str, values: dict[str, float]) -> None:
        if not self.enabled or self._metrics is None:
            return
        record = {"step": step, "split": split, "time": round(time.time() - self.start, 3)}
        record.update({k: (v if math.isfinite(v) else str(v)) for k, v in values.items()})
        self._metrics.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for k, v in values.items():
                self._tb.add_scalar(f"{split}/{k}", v, step)

    def images(self, step: int, paths: list[Path]) -> None:
        """PNG pictures (``<tag>_<kind>.png``) as TensorBoard images named ``samples/<kind>``."""
        if self._tb is None:
            return
        for path in paths:
            kind = path.stem.split("_", 1)[-1]
            with Image.open(path) as img:
                self._tb.add_image(f"samples/{kind}", np.asarray(img.convert("RGB")), step, dataformats="HWC")

    def hparams(self, config: dict[str, Any], results: dict[str, float]) -> None:
        """The flattened config beside the run's final figures, in TensorBoard's HPARAMS tab."""
        if self._tb is None:
            return
        flat = {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in flatten(config).items()}
        finite = {f"hparam/{k}": v for k, v in results.items() if isinstance(v, (int, float)) and math.isfinite(v)}
        self._tb.add_hparams(flat, finite, run_name="hparams")

    def info(self, message: str, console: bool = True) -> None:
        if not self.enabled:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        if self._log is None:
            self._pending.append(f"{stamp} {message}\n")
        else:
            self._log.write(f"{stamp} {message}\n")
        if console and self.echo:
            from tqdm import tqdm

            tqdm.write(message)

    def close(self) -> None:
        for fh in (self._metrics, self._log, self._tb):
            if fh is not None:
                fh.close()
        self._metrics = self._log = self._tb = None

    @staticmethod
    def format_terms(values: dict[str, Any]) -> str:
        return " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for k, v in tree.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


SCORE_SECTIONS = ("content_resampled", "dynamics_resampled", "reconstruction", "swap", "likelihood", "verification")


def log_scores(run_dir: Path, metrics: dict[str, Any], step: int) -> bool:
    """The numbers of an evaluation (``metrics.json``) as TensorBoard scalars ``eval/...`` at ``step``.

    Writes only into a run that already logs to TensorBoard (``RUN/tensorboard``); True if it did.
    Means of {"mean", "std"} pairs are logged as the number itself.
    """
    if not (run_dir / TENSORBOARD_DIR).is_dir():
        return False
    writer = tensorboard_writer(run_dir / TENSORBOARD_DIR)
    if writer is None:
        return False
    try:
        sections = {k: metrics[k] for k in SCORE_SECTIONS if isinstance(metrics.get(k), dict)}
        for key, value in flatten(sections).items():
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if number and math.isfinite(value) and not key.endswith(".std"):
                writer.add_scalar(f"eval/{key.removesuffix('.mean')}", value, step)
    finally:
        writer.close()
    return True
