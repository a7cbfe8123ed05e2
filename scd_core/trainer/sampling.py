"""The order data is seen in: a function of the run's seed and the epoch alone, shared by every process.

Training (:class:`EpochSampler`)
    Epoch ``e`` visits the pairs in the permutation drawn from ``SeedSequence([seed, e])``, cut into
    global batches of ``batch_size`` (a last incomplete batch is dropped, as the paper-era loaders
    do). Process ``r`` of ``W`` takes positions ``r, r + W, ...`` of each global batch, so the union
    of a step's per-process batches is the same global batch whatever ``W`` is. Each position also gets
    a seed of its own, ``SeedSequence([seed, e, position])``, which drives that sample's augmentation.
    Nothing here depends on a generator's running state, so a run resumed at an epoch boundary sees
    the very batches an uninterrupted run would (``last.pt`` stores the seed and the next epoch).
Validation (:class:`ShardSampler`)
    Process ``r`` takes pairs ``r, r + W, ...``: every pair is scored by exactly one process and
    nothing is padded, so all-reduced confusion matrices count every pixel once (DistributedSampler
    and Lightning pad ranks with repeated samples, which would count some pixels twice).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

from scd_core.errors import InvalidOptionError


def _seed(*entropy: int) -> int:
    return int(np.random.SeedSequence(list(entropy)).generate_state(1, dtype=np.uint32)[0])


def epoch_order(size: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of ``range(size)`` that epoch ``epoch`` of a run seeded ``seed`` visits."""
    return np.random.default_rng(np.random.SeedSequence([seed, epoch])).permutation(size)


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields ``(index, sample_seed)`` for this process's share of epoch :attr:`epoch` (see module docstring)."""

    def __init__(
        self, size: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1, max_steps: int | None = None
    ) -> None:
        if batch_size % world_size:
            raise InvalidOptionError(f"batch_size {batch_size} does not divide among {world_size} processes")
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.steps = size // batch_size if max_steps is None else min(size // batch_size, max_steps)
        self.epoch = 1

    def set_epoch(self, epoch: int) -> None:
        """Visit epoch ``epoch``'s order next."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps * self.batch_size // self.world_size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = epoch_order(self.size, self.seed, self.epoch)
        for position in range(self.rank, self.steps * self.batch_size, self.world_size):
            yield int(order[position]), _seed(self.seed, self.epoch, position)


class ShardSampler(Sampler[int]):
    """Pairs ``rank, rank + world_size, ...`` of the first ``limit`` (all when None): no padding."""

    def __init__(self, size: int, rank: int = 0, world_size: int = 1, limit: int | None = None) -> None:
        self.indices = list(range(min(size, limit) if limit is not None else size))[rank::world_size]

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)
