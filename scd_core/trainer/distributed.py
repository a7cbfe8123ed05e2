"""One process or many: ``torchrun`` runs :mod:`training.train` unchanged.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`setup` joins the process group
it describes (NCCL between GPUs, gloo on CPUs) and picks the process's device (``cuda:LOCAL_RANK``).
Without them the run is one process and nothing distributed is touched. Several machines are one
``torchrun`` per machine with the same rendezvous (README, "Reproducing SECOND").

Only rank 0 writes the run folder and draws the progress bar; scores are confusion matrices summed
over processes (:func:`all_reduce_sum`), so they equal a one-process evaluation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from scd_core.devices import resolve_device


@dataclass(frozen=True)
class Processes:
    """This process's place among the run's processes."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def main(self) -> bool:
        """Whether this process writes the run folder and reports progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether more than one process trains."""
        return self.world_size > 1


def setup(device: str) -> Processes:
    """Join ``torchrun``'s process group where there is one; the device is ``device`` (``auto``:
    ``cuda:LOCAL_RANK`` where CUDA is, else the CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Processes(0, 1, resolve_device(device))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = resolve_device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return Processes(dist.get_rank(), dist.get_world_size(), chosen)


def teardown(processes: Processes) -> None:
    """Leave the process group :func:`setup` joined, if any."""
    if processes.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(tensor: torch.Tensor, processes: Processes) -> torch.Tensor:
    """``tensor`` summed over the processes (itself when there is one)."""
    if processes.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def broadcast_buffers(model: nn.Module, processes: Processes) -> None:
    """Give every process rank 0's buffers (batch-norm statistics), so that all score one model.

    DistributedDataParallel keeps the parameters equal; each process's batch-norm running statistics
    follow its own batches, so without this the processes would validate slightly different models.
    """
    if processes.distributed:
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def barrier(processes: Processes) -> None:
    """Wait until every process reaches this point."""
    if processes.distributed:
        dist.barrier()
