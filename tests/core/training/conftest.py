"""Fixtures of the training tests: small synthetic datasets in SECOND's layout, and running a command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scd_core import synth

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def small_second(tmp_path_factory) -> Path:
    """``ROOT/train`` (8 pairs) and ``ROOT/val`` (3 pairs) of 64² synthetic scenes."""
    root = tmp_path_factory.mktemp("small_second")
    synth.write_second(root / "train", n_pairs=8, size=64, seed=3)
    synth.write_second(root / "val", n_pairs=3, size=64, seed=4)
    return root


@pytest.fixture
def write_config(tmp_path):
    """Write a YAML config into the test's folder; returns its path."""

    def write(name: str = "config.yaml", **settings) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(settings), encoding="utf-8")
        return path

    return write


def python_module(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", *(str(a) for a in args)]


@pytest.fixture
def run_module():
    """Run ``python -m MODULE ARGS`` from the checkout on one thread, as a user would; returns the result."""

    def run(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            python_module(*args), capture_output=True, text=True, timeout=timeout, cwd=REPO, env=one_thread_env()
        )

    return run


def one_thread_env() -> dict[str, str]:
    """The environment of a subprocess that computes on one thread (runs compared bit for bit)."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def start_module():
    """Start ``python -m MODULE ARGS`` like :func:`run_module`, without waiting; stderr is piped, text."""

    def start(*args: str | Path) -> subprocess.Popen:
        return subprocess.Popen(
            python_module(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=one_thread_env(),
        )

    return start
