"""The embedded cluster's workers keep freed memory for reuse, as the ``scd`` process does."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest

from scd_core.cluster.connect import connect

#: A block above glibc's largest dynamic mmap threshold (32 MiB) that still fits the 64 MiB heaps of
#: the arenas that serve a worker's task threads (a larger one is always mmapped there).
BLOCK = 40 << 20
#: Fewest page faults a fresh block costs: one per 2 MiB where transparent huge pages are on.
FAULTS_PER_FRESH_BLOCK = BLOCK // (2 << 20)


def _faults_of_four_reused_blocks() -> int:
    """Minor page faults of the 2nd to 5th of five blocks, each freed before the next."""
    faults = []
    for _ in range(5):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = np.ones(BLOCK, dtype=np.uint8)
        del block
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return sum(faults[1:])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_local_cluster_workers_reuse_freed_blocks_even_after_a_restart() -> None:
    with connect("local:1") as client:
        client.wait_for_workers(1)
        first = client.submit(_faults_of_four_reused_blocks, pure=False).result()
        client.restart()  # a new worker process, as after a crash: the plugin reaches it too
        client.wait_for_workers(1)
        again = client.submit(_faults_of_four_reused_blocks, pure=False).result()
    assert first < FAULTS_PER_FRESH_BLOCK // 2 and again < FAULTS_PER_FRESH_BLOCK // 2, (first, again)
