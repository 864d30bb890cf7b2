"""A kill -9 at any moment, also in the middle of a checkpoint write, leaves a loadable checkpoint."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dsvae.config import DSVAEConfig
from dsvae.model import DSVAE
from dsvae.train.checkpoint import find_checkpoint, load_checkpoint

WRITER = """
import sys, torch
from dsvae.config import DSVAEConfig
from dsvae.model import DSVAE
from dsvae.train.checkpoint import save_checkpoint
from pathlib import Path
model = DSVAE(DSVAEConfig(n_frames=2, image_size=8, dim_z=2, dim_f=4, dim_h=64, dim_hidden=256, n_channels=64))
opt = torch.optim.Adam(model.parameters())
step = 0
while True:
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float(step))
    save_checkpoint(Path(sys.argv[1]), model, opt, {"step": step})
    step += 1
"""


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.9, 1.3, 1.7, 2.1])
def test_kill_9_during_checkpoint_writes(tmp_path: Path, delay: float) -> None:
    folder = tmp_path / "latest"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)])
    deadline = time.time() + 60
    while find_checkpoint(folder) is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    found = find_checkpoint(folder)
    assert found is not None
    model = DSVAE(DSVAEConfig(n_frames=2, image_size=8, dim_z=2, dim_f=4, dim_h=64, dim_hidden=256, n_channels=64))
    state = load_checkpoint(found, model, torch.optim.Adam(model.parameters()), restore_rng=False)
    # the weights are those of the step the checkpoint says, never a mixture
    for p in model.parameters():
        assert torch.all(p == float(state["step"]))
