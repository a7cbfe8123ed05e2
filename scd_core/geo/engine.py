"""The tiled detection loop: read, normalise, batch, infer, blend, finalise strips, hand them on.

Three threads work at once, linked by small bounded queues so memory stays flat:

* a **reader** reads the windows of both dates (AFTER resampled on the fly where needed), normalises
  them and stacks batches (in pinned memory when the device is a GPU);
* the **caller's thread** runs the model (with AMP on a GPU), turns logits into probabilities, and
  blends them, on the device, into the accumulator of the current panel. After each tile row it
  decodes every finished row (whole blocks of rows) into class maps and frees it;
* a **writer** (the ``on_region`` callback) receives finished regions and writes them out.

The accumulator holds one panel of at most ``tile + block`` rows: memory depends on the tile size,
the panel width and the batch, never on the raster's size. Only small uint8 maps leave the device.

A KeyboardInterrupt (SIGINT, or SIGTERM turned into one by the command line) in the caller's thread
stops the other two within a fraction of a second; the interrupt then propagates.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from rasterio.windows import Window
from torch import nn

from scd_core.geo.grid import Panel, Tile, TilePlan, blend_weights, coverage
from scd_core.geo.normalise import Normaliser
from scd_core.geo.progress import Reporter
from scd_core.geo.rasters import WindowReader
from scd_core.models.inference import pad_to_multiple

#: Change probabilities are stored as ``round(p * PROB_SCALE)`` in uint8 (255 is nodata).
PROB_SCALE = 250
#: Rows are finalised in whole blocks of this many rows (the tile height of the GeoTIFFs written).
BLOCK = 256
#: Finished rows are decoded this many columns at a time (bounds the float32 working copy).
DECODE_COLUMNS = 512
_POLL = 0.1


@dataclass(frozen=True)
class Region:
    """Finished outputs of a window of the output grid (uint8 maps, all aligned)."""

    window: Window
    before: np.ndarray  #: class of date 1 where changed, 0 where not (eq. 1)
    after: np.ndarray  #: class of date 2 where changed, 0 where not
    prob: np.ndarray  #: change probability × PROB_SCALE
    valid: np.ndarray  #: both dates have data here


@dataclass
class EngineStats:
    """Where the loop's time went, for run.json and the benchmark."""

    tiles: int = 0
    batches: int = 0
    model_seconds: float = 0.0
    wait_for_input_seconds: float = 0.0
    loop_seconds: float = 0.0
    device: str = "cpu"
    amp: bool = False
    extra: dict = field(default_factory=dict)


class _Stopped(Exception):
    """Another thread failed or the run was interrupted."""


def _put(q: queue.Queue, item, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL)
            return
        except queue.Full:
            continue
    raise _Stopped


def _get(q: queue.Queue, stop: threading.Event):
    while not stop.is_set():
        try:
            return q.get(timeout=_POLL)
        except queue.Empty:
            continue
    raise _Stopped


class _Worker(threading.Thread):
    """A daemon thread that records its exception and stops the run when it fails."""

    def __init__(self, target: Callable[[], None], stop: threading.Event, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._work, self.stop, self.error = target, stop, None

    def run(self) -> None:
        try:
            self._work()
        except _Stopped:
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


class Blender:
    """Weighted sums of tile probabilities over one panel, decoded into finished regions row by row."""

    def __init__(self, plan: TilePlan, device: torch.device, threshold: float) -> None:
        self.plan, self.device, self.threshold = plan, device, threshold
        self.weights = torch.from_numpy(blend_weights(plan.tile_height, plan.tile_width, plan.overlap)).to(device)
        self.row_total = torch.from_numpy(coverage(plan.row_starts, plan.tile_height, plan.height, plan.overlap)).to(
            device
        )
        self.col_total = torch.from_numpy(coverage(plan.col_starts, plan.tile_width, plan.width, plan.overlap)).to(
            device
        )
        self.rows = plan.tile_height + BLOCK
        # One accumulator, as wide as the widest panel, serves every panel in turn (no reallocation).
        widest = max(plan.panel_span(panel) for panel in plan.panels)
        self._sum_buffer = torch.empty((13, self.rows, widest), dtype=torch.float16, device=device)
        self._valid_buffer = torch.empty((self.rows, widest), dtype=torch.bool, device=device)
        self.panel_index = -1
        self.sums = self.valid = None
        self.top = 0  # output row of the accumulator's first row

    def _start(self, index: int) -> Panel:
        panel = self.plan.panels[index]
        span = self.plan.panel_span(panel)
        self.sums, self.valid = self._sum_buffer[:, :, :span], self._valid_buffer[:, :span]
        self.sums.zero_()
        self.valid.fill_(True)
        self.panel_index, self.top = index, 0
        return panel

    def add(self, tile: Tile, probabilities: torch.Tensor, valid: torch.Tensor) -> Region | None:
        """Blend one tile's 13×h×w probabilities (sem1, sem2, change); return the rows it finished."""
        panel = self.plan.panels[tile.panel] if tile.panel == self.panel_index else self._start(tile.panel)
        r, c = tile.row - self.top, tile.col - panel.x0
        rows, cols = slice(r, r + tile.height), slice(c, c + tile.width)
        self.sums[:, rows, cols] += (probabilities * self.weights).to(self.sums.dtype)
        self.valid[rows, cols] &= valid
        if tile.col != panel.tile_cols[-1]:
            return None
        final = self.plan.rows_final_after(tile.row_index)
        end = final if final == self.plan.height else final // BLOCK * BLOCK
        if end <= self.top:
            return None
        region = self._decode(panel, end)
        self._drop_rows(end - self.top)
        self.top = end
        return region

    def _drop_rows(self, shift: int) -> None:
        """Move the accumulator up by ``shift`` finished rows, in place: each copy moves at most
        ``shift`` rows, so its source and destination never overlap and no second accumulator is made."""
        keep = self.rows - shift
        for lo in range(0, keep, shift):
            hi = min(lo + shift, keep)
            self.sums[:, lo:hi] = self.sums[:, lo + shift : hi + shift]
            self.valid[lo:hi] = self.valid[lo + shift : hi + shift]
        self.sums[:, keep:] = 0
        self.valid[keep:] = True

    def _decode(self, panel: Panel, end: int) -> Region:
        """Class maps of the finished rows, decoded ``DECODE_COLUMNS`` columns at a time so that the
        float32 means never cost more than a small slice of the panel."""
        height, x0 = end - self.top, panel.x0
        maps = np.empty((3, height, panel.col_hi - panel.col_lo), np.uint8)
        for lo in range(panel.col_lo, panel.col_hi, DECODE_COLUMNS):
            hi = min(lo + DECODE_COLUMNS, panel.col_hi)
            total = self.row_total[self.top : end, None] * self.col_total[None, lo:hi]
            mean = self.sums[:, :height, lo - x0 : hi - x0].float() / total
            changed = mean[12] >= self.threshold
            # max(0).indices is argmax(0) (first maximum on ties) but 8× faster on CPU across channels
            before = (mean[0:6].max(0).indices + 1) * changed
            after = (mean[6:12].max(0).indices + 1) * changed
            prob = torch.round(mean[12].clamp(0, 1) * PROB_SCALE)
            chunk = torch.stack([before, after, prob.to(before.dtype)]).to(torch.uint8)
            maps[:, :, lo - panel.col_lo : hi - panel.col_lo] = chunk.cpu().numpy()
        window = Window(panel.col_lo, self.top, panel.col_hi - panel.col_lo, height)
        cols = slice(panel.col_lo - x0, panel.col_hi - x0)
        valid = self.valid[:height, cols].to("cpu", copy=True).numpy()  # a copy: the accumulator moves on
        return Region(window, maps[0], maps[1], maps[2], valid)


def _probabilities(outputs: dict[str, torch.Tensor], height: int, width: int) -> torch.Tensor:
    sem1 = outputs["sem1"][..., :height, :width].float().softmax(1)
    sem2 = outputs["sem2"][..., :height, :width].float().softmax(1)
    change = torch.sigmoid(outputs["change"][..., :height, :width].float())
    return torch.cat([sem1, sem2, change], dim=1)


def run(
    plan: TilePlan,
    readers: tuple[WindowReader, WindowReader],
    normalisers: tuple[Normaliser, Normaliser],
    model: nn.Module,
    on_region: Callable[[Region], None],
    *,
    device: torch.device,
    batch: int,
    threshold: float,
    amp: bool,
    report: Reporter,
) -> EngineStats:
    """Run ``model`` over every tile of ``plan`` and call ``on_region`` (in a writer thread) with each
    finished region, top to bottom within each panel. Returns timing statistics."""
    stats = EngineStats(device=str(device), amp=amp)
    started = time.perf_counter()
    stop = threading.Event()
    inputs: queue.Queue = queue.Queue(maxsize=2)
    regions: queue.Queue = queue.Queue(maxsize=2)
    cuda = device.type == "cuda"

    def read_all() -> None:
        for tiles in _batches(plan, batch):
            _put(inputs, (tiles, *_read_batch(tiles, readers, normalisers, pin=cuda)), stop)
        _put(inputs, None, stop)

    def write_all() -> None:
        while (region := _get(regions, stop)) is not None:
            on_region(region)

    workers = [_Worker(read_all, stop, "scd-reader"), _Worker(write_all, stop, "scd-writer")]
    for worker in workers:
        worker.start()
    blender = Blender(plan, device, threshold)
    model = model.to(device).eval()
    done, total = 0, len(plan)
    try:
        with torch.inference_mode():
            while True:
                waited = time.perf_counter()
                item = _get(inputs, stop)
                stats.wait_for_input_seconds += time.perf_counter() - waited
                if item is None:
                    break
                tiles, x1, x2, valid = item
                computed = time.perf_counter()
                x1, x2 = x1.to(device, non_blocking=True), x2.to(device, non_blocking=True)
                valid = valid.to(device, non_blocking=True)
                height, width = x1.shape[-2:]
                with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
                    outputs = model(pad_to_multiple(x1)[0], pad_to_multiple(x2)[0])
                probabilities = _probabilities(outputs, height, width)
                if cuda:
                    torch.cuda.synchronize(device)
                stats.model_seconds += time.perf_counter() - computed
                for k, tile in enumerate(tiles):
                    region = blender.add(tile, probabilities[k], valid[k])
                    if region is not None:
                        _put(regions, region, stop)
                done += len(tiles)
                stats.tiles, stats.batches = done, stats.batches + 1
                report({"event": "progress", "done": done, "total": total})
        _put(regions, None, stop)
        workers[1].join()
    except _Stopped:
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
