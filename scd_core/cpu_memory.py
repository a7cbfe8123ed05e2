"""Keep freed memory for reuse instead of giving it back to the kernel after every forward pass.

PyTorch's CPU tensors come from ``malloc``. glibc serves blocks above its mmap threshold (dynamic, at
most 32 MiB) with fresh ``mmap`` calls and unmaps them on ``free``, so the activations of every forward
pass, tens to hundreds of MB each, are faulted in and zeroed by the kernel anew. On the 2-core reference
machine that kernel work was a quarter to a third of CPU inference (FC-Siam-diff on 25 tiles of 512²:
11.3 s → 7.0 s, 2.9 M → 0.15 M page faults, peak RSS within a few per cent).

:func:`keep_freed_memory` raises glibc's mmap and trim thresholds so such blocks come from the heap and
stay there for the next pass. It changes the whole process, so the library never calls it on its own:
the ``scd`` command line and ``python -m training.train`` do, being the processes' owners; a program
embedding :func:`scd_core.detect` may call it too. :func:`release_freed_memory` hands what is kept
back once the model is done (the detection does so before polygonising), so the later phases do not
stack their memory on top of the model's. On a C library without ``mallopt`` both do nothing.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

#: ``mallopt`` parameter numbers, from glibc's ``malloc.h``.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Blocks up to this size are served from the heap and kept after ``free``; free memory above it at
#: the top of the heap is still returned.
KEEP_UP_TO_BYTES = 1 << 30


def _libc_function(name: str) -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


def keep_freed_memory(limit: int = KEEP_UP_TO_BYTES) -> bool:
    """Make the C library keep freed blocks of up to ``limit`` bytes; True where it took effect."""
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, limit)) and bool(mallopt(M_TRIM_THRESHOLD, limit))


def release_freed_memory() -> None:
    """Return the heap's free memory to the kernel now (glibc's ``malloc_trim``)."""
    malloc_trim = _libc_function("malloc_trim")
    if malloc_trim is not None:
        malloc_trim.argtypes, malloc_trim.restype = (ctypes.c_size_t,), ctypes.c_int
        malloc_trim(0)
