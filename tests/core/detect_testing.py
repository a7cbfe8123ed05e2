"""Helpers shared by the detection tests: tiny checkpoints and running the ``scd`` command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import torch

from scd_core import checkpoint
from scd_core.models import build

REPO = Path(__file__).resolve().parents[2]


def tiny_checkpoint(path: Path, name: str = "fc_ef", seed: int = 0, **metadata) -> Path:
    """An untrained, tiny (``width=4``) model saved as a checkpoint."""
    torch.manual_seed(seed)
    return checkpoint.save(build(name, width=4), path, **{"tile_size": 128, **metadata})


def scd_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "scd_core", *(str(a) for a in args)]


def default_interrupt() -> None:
    """``preexec_fn`` of a command the test will SIGINT: Ctrl-C's default action, even where the tests
    were started with SIGINT ignored (a shell's background job), which the command would inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_scd(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``scd ARGS`` in a fresh interpreter, as a user would."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(scd_command(*args), capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env)
