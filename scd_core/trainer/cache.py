"""Decoded pairs kept across epochs, so that a training run decodes each file once rather than once an epoch.

Only what comes before augmentation can be kept: augmentation draws anew for every epoch (its draws
are keyed by the sample's seed, :mod:`scd_core.trainer.sampling`), but a pair's decoded 8-bit pixels
and class maps are the same every time. A SECOND pair (two 512² RGB images, two class maps) is 2 MiB
decoded; its 2,968 training pairs 6.2 GB.

:class:`RecordCache` holds one fixed-shape uint8 record per pair in one anonymous shared memory
mapping, made with the dataset, before the data loader forks its workers: every worker reads and fills
the same records, so a pair is decoded once whichever worker meets it first, and the memory is held
once, not once per worker. Its pages are taken as records are filled and given back with the dataset.
Workers started by spawning (macOS, Windows, Python 3.14's forkserver) get the dataset by pickling,
which leaves the cache out: they decode every time, as without one.

**Memory bound.** A cache is made only where all its records fit :func:`budget`, a quarter of the
memory the process may use (the machine's, or its container's limit where lower) shared among the
``torchrun`` processes of the machine; elsewhere pairs are decoded every time.
"""

from __future__ import annotations

import math
import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np

#: Share of the usable memory one cache may hold.
MEMORY_SHARE = 0.25
#: Where a container's memory limit is read (cgroup v2, then v1); "max" or absent: no limit.
CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


def usable_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its cgroup's limit where lower; 0 unknown."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): no cache rather than a guess
        return 0
    limits = [physical]
    for path in CGROUP_LIMITS:
        try:
            limits.append(int(path.read_text(encoding="ascii").strip()))
        except (OSError, ValueError):
            continue
    return min(limits)


def budget() -> int:
    """Bytes one cache may hold (see the module docstring)."""
    processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return int(usable_memory() * MEMORY_SHARE) // max(processes, 1)


class RecordCache:
    """``count`` uint8 records of one ``shape`` in memory shared with forked workers, filled on first use."""

    def __init__(self, count: int, shape: tuple[int, ...]) -> None:
        self.shape = shape
        size = math.prod(shape)
        self._memory: mmap.mmap | None = mmap.mmap(-1, count * (size + 1))  # anonymous and shared
        #: one byte per record, set once the record is written
        self._filled = np.frombuffer(self._memory, np.uint8, count)
        self._records = np.frombuffer(self._memory, np.uint8, count * size, offset=count).reshape(count, *shape)

    @classmethod
    def fitting(cls, count: int, shape: tuple[int, ...], limit: int | None = None) -> RecordCache | None:
        """A cache of ``count`` records where they fit ``limit`` bytes (default :func:`budget`), else None."""
        needed = count * (math.prod(shape) + 1)
        return cls(count, shape) if 0 < needed <= (budget() if limit is None else limit) else None

    def get(self, index: int) -> np.ndarray | None:
        """Record ``index`` (read-only), or None while it is not filled."""
        if self._memory is None or not self._filled[index]:
            return None
        record = self._records[index]
        record.flags.writeable = False
        return record

    def put(self, index: int, record: np.ndarray) -> None:
        """Keep ``record`` as record ``index``; one of another shape is not kept."""
        if self._memory is not None and record.shape == self.shape:
            self._records[index] = record
            self._filled[index] = 1  # read only after the batch it went in passed the loader's queues

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for a spawned worker: without the memory, which does not travel (see module docstring)."""
        return {**self.__dict__, "_memory": None, "_filled": None, "_records": None}
