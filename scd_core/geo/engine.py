"""The tiled detection loop: read, normalise, batch, infer, blend, finalise strips, hand them on.

Three threads work at once, linked by small bounded queues so memory stays flat:

* a **reader** reads the windows of both dates (AFTER resampled on the fly where needed), normalises
  them and stacks batches (in pinned memory when the device is a GPU);
* the **caller's thread** runs the model (with AMP on a GPU), turns logits into probabilities, and
  blends them, on the device, into the accumulator of the current panel. After each tile row it
  decodes every finished row (whole blocks of rows) into class maps and frees it;
* a **writer** (the ``on_region`` callback) receives finished regions and writes them out.

Blending and decoding are :mod:`scd_core.geo.blending`'s. The accumulator holds one panel of at most
``tile + BLOCK`` rows: memory depends on the tile size,
the panel width and the batch, never on the raster's size. Only small uint8 maps leave the device.

A KeyboardInterrupt (SIGINT, or SIGTERM turned into one by the command line) in the caller's thread
stops the other two within a fraction of a second; the interrupt then propagates.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from scd_core import events
from scd_core.geo.blending import Blender
from scd_core.geo.grid import Tile, TilePlan
from scd_core.geo.maps import Region
from scd_core.geo.progress import Reporter
from scd_core.geo.rasters import WindowReader
from scd_core.geo.runtimes import Runner
from scd_core.normalise import Normaliser

#: Seconds between checks of the stop flag while a queue is full or empty.
_POLL = 0.1


@dataclass
class EngineStats:
    """What the loop did and where its time went, for run.json and the benchmark."""

    tiles: int = 0
    model_seconds: float = 0.0
    loop_seconds: float = 0.0
    amp: bool = False


class _StoppedError(Exception):
    """Another thread failed or the run was interrupted."""


def _put(q: queue.Queue, item: object, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL)
            return
        except queue.Full:
            continue
    raise _StoppedError


def _get(q: queue.Queue, stop: threading.Event) -> Any:
    while not stop.is_set():
        try:
            return q.get(timeout=_POLL)
        except queue.Empty:
            continue
    raise _StoppedError


#: Niceness of the reader and writer threads (Linux schedules threads one by one): the model's
#: threads get the cores first, and reading and writing use what the model leaves.
HELPER_NICENESS = 10


def _yield_to_the_model() -> None:
    """Lower this thread's priority where the system allows it (Linux; elsewhere nothing changes)."""
    with contextlib.suppress(AttributeError, OSError):  # no per-thread priorities here, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HELPER_NICENESS)


class _Worker(threading.Thread):
    """A daemon thread that records its exception and stops the run when it fails."""

    def __init__(self, target: Callable[[], None], stop: threading.Event, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._work, self.stop = target, stop
        self.error: BaseException | None = None

    def run(self) -> None:
        _yield_to_the_model()
        try:
            self._work()
        except _StoppedError:
            pass
        except BaseException as error:  # handed to the caller's thread, which re-raises it
            self.error = error
            self.stop.set()


def _batches(plan: TilePlan, size: int) -> Iterator[list[Tile]]:
    chunk: list[Tile] = []
    for tile in plan.tiles():
        chunk.append(tile)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _read_batch(
    tiles: list[Tile], readers: tuple[WindowReader, WindowReader], normalisers: tuple[Normaliser, Normaliser], pin: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    height, width = tiles[0].height, tiles[0].width
    channels = len(readers[0].bands)
    x = [np.empty((len(tiles), channels, height, width), np.float32) for _ in range(2)]
    valid = np.empty((len(tiles), height, width), bool)
    for k, tile in enumerate(tiles):
        raw1, valid1 = readers[0].read(tile.window)
        raw2, valid2 = readers[1].read(tile.window)
        valid[k] = valid1 & valid2
        for date, raw in enumerate((raw1, raw2)):
            x[date][k] = normalisers[date](raw)
            x[date][k][:, ~valid[k]] = 0.0
    tensors = [torch.from_numpy(a) for a in (*x, valid)]
    if pin:
        tensors = [t.pin_memory() for t in tensors]
    return tensors[0], tensors[1], tensors[2]


def run(
    plan: TilePlan,
    readers: tuple[WindowReader, WindowReader],
    normalisers: tuple[Normaliser, Normaliser],
    runner: Runner,
    on_region: Callable[[Region], None],
    *,
    batch: int,
    threshold: float,
    num_classes: int,
    decode: str,
    report: Reporter,
) -> EngineStats:
    """Run the model (``runner``, :mod:`scd_core.geo.runtimes`) over every tile of ``plan`` and call
    ``on_region`` (in a writer thread) with each finished region, top to bottom within each panel;
    changed pixels' classes are read as ``decode`` says (:mod:`scd_core.geo.blending`). Returns what
    the loop did and its timings."""
    device = runner.device
    stats = EngineStats(amp=runner.amp)
    started = time.perf_counter()
    stop = threading.Event()
    inputs: queue.Queue = queue.Queue(maxsize=2)
    regions: queue.Queue = queue.Queue(maxsize=2)

    def read_all() -> None:
        for tiles in _batches(plan, batch):
            _put(inputs, (tiles, *_read_batch(tiles, readers, normalisers, pin=device.type == "cuda")), stop)
        _put(inputs, None, stop)

    def write_all() -> None:
        while (region := _get(regions, stop)) is not None:
            on_region(region)

    workers = [_Worker(read_all, stop, "scd-reader"), _Worker(write_all, stop, "scd-writer")]
    for worker in workers:
        worker.start()
    blender = Blender(plan, device, threshold, num_classes, decode)
    try:
        with torch.inference_mode():
            while (item := _get(inputs, stop)) is not None:
                tiles, x1, x2, valid = item
                computed = time.perf_counter()
                probabilities = runner(x1, x2)
                stats.model_seconds += time.perf_counter() - computed
                valid = valid.to(device, non_blocking=True)
                for k, tile in enumerate(tiles):
                    if (region := blender.add(tile, probabilities[k], valid[k])) is not None:
                        _put(regions, region, stop)
                stats.tiles += len(tiles)
                report(events.progress(stats.tiles, len(plan)))
        _put(regions, None, stop)
        workers[1].join()
    except _StoppedError:
        pass
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    for worker in workers:
        if worker.error is not None:
            raise worker.error
    stats.loop_seconds = time.perf_counter() - started
    return stats
