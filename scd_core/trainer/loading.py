"""The trainer's data loaders: worker processes that decode and augment while the model computes.

A 512² SECOND sample takes a core about 80 ms to decode and augment, 28 ms once its decoding is kept
(:mod:`.cache`): as long as a small model's step on a GPU. So on CUDA samples are made by ``workers``
processes (config ``workers``; None: :func:`default_workers`) kept alive from epoch to epoch (starting
them anew every epoch would cost each epoch a pause), with batches in pinned (page-locked) memory, from
which the copy to the GPU runs asynchronously. On the CPU the model's threads already use every core
and a worker takes its core from them: ``benchmarks/bench_training.py`` measured two workers costing
11-17% of a 2-core machine's throughput against 3% for loading in the process, so there the default is 0.

Nothing a sample holds depends on the worker that makes it: samples are keyed by ``(index, seed)``
(:mod:`.sampling`), and the loader draws its workers' base seed from a generator of its own, not from
torch's global one, so the global random stream that ``last.pt`` saves is the same with 0 workers or 8,
a pool kept or restarted, and runs resume exactly with any worker count.
"""

from __future__ import annotations

import os

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

#: The most worker processes a loader starts by default: past it, decoding outpaces any one GPU.
MAX_WORKERS = 8


def default_workers(device: torch.device) -> int:
    """On CUDA the cores this process may run on, shared among ``torchrun``'s processes on the machine,
    at most :data:`MAX_WORKERS`; on the CPU 0 (see the module docstring)."""
    if device.type != "cuda":
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    processes = max(int(os.environ.get("LOCAL_WORLD_SIZE", "1")), 1)
    return max(1, min(MAX_WORKERS, cores // processes))


def make_loader(
    dataset: Dataset, batch_size: int, sampler: Sampler, workers: int, device: torch.device, drop_last: bool = False
) -> DataLoader:
    """A loader of ``dataset`` in ``sampler``'s order on ``workers`` processes (0: in this one)."""
    return DataLoader(
        dataset,
        batch_size,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=device.type == "cuda",
        drop_last=drop_last,
        generator=torch.Generator(),  # keeps the global random stream out of the loader (module docstring)
    )
