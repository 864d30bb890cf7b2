"""The run's record: metrics as JSON lines, a human log, and the console (rank 0 only)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from dsvae.train.run_folder import LOG_NAME, METRICS_NAME


class RunLogger:
    """Appends to ``metrics.jsonl`` and ``log.txt``; silent on ranks other than 0."""

    def __init__(self, run_dir: Path, enabled: bool, echo: bool = True) -> None:
        self.enabled, self.echo = enabled, echo
        self.start = time.time()
        self._metrics = self._log = None
        if enabled:
            run_dir.mkdir(parents=True, exist_ok=True)
            self._metrics = open(run_dir / METRICS_NAME, "a", buffering=1)  # noqa: SIM115 (kept open for the run)
            self._log = open(run_dir / LOG_NAME, "a", buffering=1)  # noqa: SIM115

    def metrics(self, step: int, split: str, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        record = {"step": step, "split": split, "time": round(time.time() - self.start, 3)}
        record.update({k: (v if math.isfinite(v) else str(v)) for k, v in values.items()})
        self._metrics.write(json.dumps(record) + "\n")  # type: ignore[union-attr]

    def info(self, message: str, console: bool = True) -> None:
        if not self.enabled:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self._log.write(f"{stamp} {message}\n")  # type: ignore[union-attr]
        if console and self.echo:
            from tqdm import tqdm

            tqdm.write(message)

    def close(self) -> None:
        for fh in (self._metrics, self._log):
            if fh is not None:
                fh.close()

    @staticmethod
    def format_terms(values: dict[str, Any]) -> str:
        return " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())
