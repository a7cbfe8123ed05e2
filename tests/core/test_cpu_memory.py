"""keep_freed_memory: big freed blocks are reused instead of being faulted in anew.

Each case runs in a fresh interpreter: the setting changes the whole process.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import resource, sys
import numpy as np
from scd_core.cpu_memory import keep_freed_memory, release_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(64 << 20, dtype=np.uint8)  # 64 MiB: above glibc's largest default mmap threshold
    del block
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
release_freed_memory()
print(kept, sum(faults[1:]))
"""
#: Fewest page faults a fresh 64 MiB block costs: one per 2 MiB where transparent huge pages are on.
FAULTS_PER_FRESH_BLOCK = (64 << 20) // (2 << 20)


def _page_faults(mode: str) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    kept, faults = done.stdout.split()
    return kept, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_freed_blocks_are_reused_once_kept() -> None:
    kept, faults = _page_faults("keep")
    assert kept == "True"
    assert faults < FAULTS_PER_FRESH_BLOCK // 2  # the four later blocks reuse the first one's pages


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_without_it_every_block_is_faulted_in_anew() -> None:
    kept, faults = _page_faults("default")
    assert kept == "None"
    assert faults >= 4 * FAULTS_PER_FRESH_BLOCK
