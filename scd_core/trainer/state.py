"""``last.pt``: everything a killed run needs to continue as if it had never stopped.

It holds the model's weights and buffers, the optimiser's state (momentum buffers, Adam's moments),
the learning-rate schedule's, the AMP gradient scaler's, the epoch and optimiser step reached, the
data order (the sampler's seed; the next epoch's order follows from it, :mod:`scd_core.trainer.sampling`) and
every random generator's state (torch's CPU and CUDA generators, numpy's and Python's global ones).
All of it is plain data and tensors, so it loads with ``weights_only=True``.

Together with deterministic algorithms on the CPU (:func:`deterministic`), a run resumed from
``last.pt`` ends with the very weights of an uninterrupted run, bit for bit; the tests kill a run with
SIGKILL in the middle of an epoch and compare.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import torch


def rng_states() -> dict[str, Any]:
    """The global random generators' states as plain data and tensors."""
    legacy = cast(tuple, np.random.get_state(legacy=True))
    python = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"key": legacy[1].tolist(), "pos": int(legacy[2]), "gauss": [int(legacy[3]), float(legacy[4])]},
        "python": [python[0], list(python[1]), python[2]],
    }


def restore_rng_states(states: dict[str, Any]) -> None:
    """Put the generators back where :func:`rng_states` found them."""
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    numpy = states["numpy"]
    np.random.set_state(("MT19937", np.array(numpy["key"], dtype=np.uint32), numpy["pos"], *numpy["gauss"]))
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))


@contextlib.contextmanager
def deterministic(enabled: bool) -> Iterator[None]:
    """Deterministic algorithms only (an error where an operation has none) inside the block, as exact
    resume needs; the process's previous settings come back after it.

    torch then also fills every new tensor with NaN by default, to expose reads of uninitialised memory;
    that is a debugging aid, not part of determinism, and it made a tiny ASN's steps 10-50× slower, so
    it is switched off. On CUDA cuBLAS also needs a fixed workspace, set before its first use.
    """
    if not enabled:
        yield
        return
    fill = torch.utils.deterministic.fill_uninitialized_memory  # type: ignore[attr-defined]
    before = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.benchmark = before[1]
        torch.utils.deterministic.fill_uninitialized_memory = fill  # type: ignore[attr-defined]


def training_state(
    model: torch.nn.Module,
    optimiser: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler | None,
    epoch: int,
    step: int,
    seed: int,
) -> dict[str, Any]:
    """``last.pt``'s content after ``epoch`` epochs (``step`` optimiser steps)."""
    return {
        "epoch": epoch,
        "step": step,
        "model": {key: value.detach().cpu() for key, value in model.state_dict().items()},
        "optimizer": optimiser.state_dict(),
        "schedule": schedule.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "data": {"seed": seed, "next_epoch": epoch + 1},
        "rng": rng_states(),
    }


def restore_training_state(
    state: dict[str, Any],
    model: torch.nn.Module,
    optimiser: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler | None,
) -> tuple[int, int]:
    """Load ``state`` into the run's objects; returns the epoch and step it was taken after."""
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    if scaler is not None and state["scaler"] is not None:
        scaler.load_state_dict(state["scaler"])
    restore_rng_states(state["rng"])
    return int(state["epoch"]), int(state["step"])
