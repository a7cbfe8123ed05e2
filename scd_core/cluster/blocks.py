"""``scd detect --cluster``: one huge pair split into blocks that Dask workers compute.

The prepare stage runs once, on the client: it checks the inputs, fixes the output grid, the whole
run's tile plan, the bands and the stretch. The map grid (the output grid and the pixels its sieve
reads around it) is then cut into blocks of :data:`BLOCK_SIZE` pixels; each block is a task. A worker
prepares the block with the whole run's bands and stretch (:class:`~scd_core.geo.inputs.Fixed`) and
runs the engine over the tiles of the whole plan that cover the block: the tiles reach beyond the
block by the overlap, and every pixel of the block gets exactly the tiles and weights it gets in a
one-process run, so the stitched mosaic is the one-process output pixel for pixel. Workers write
their blocks' model maps into the run's staging folder (a filesystem all of them see); the client
stitches them block by block, then the sieve, the polygons (one polygoniser over the stitched map,
so a region crossing a block border is one feature), the reports and the commit run as in one
process. A worker's memory depends on the block and tile sizes, never on the raster's.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import rasterio
from rasterio.windows import Window

from scd_core import events
from scd_core.cluster.cancel import cancel_name, cancel_watch, stop
from scd_core.errors import InvalidOptionError
from scd_core.geo.grid import Grid, placed_out_of
from scd_core.geo.inputs import Fixed, Prepared, prepare
from scd_core.geo.maps import stitch
from scd_core.geo.options import DetectOptions
from scd_core.geo.pipeline import GDAL_CACHE_BYTES, DetectResult, InferStage, infer_block, run_detection, start_event
from scd_core.geo.progress import Reporter, RunLog, silent
from scd_core.geo.rasters import network_config
from scd_core.geo.staging import StagingFolder
from scd_core.vocabulary import OPTIONS

if TYPE_CHECKING:
    from distributed import Client, Future

#: Side of a block in output pixels: a multiple of the GeoTIFFs' block, so stitching writes whole
#: blocks (the vocabulary's BLOCK_MULTIPLE, which a test holds equal to geo.grid.BLOCK); 16 tiles of
#: 1024² or 64 of 512².
BLOCK_SIZE: int = OPTIONS["block_size"].default


def block_windows(grid: Grid, size: int = BLOCK_SIZE) -> list[Window]:
    """The blocks of ``grid``, row by row."""
    return [
        Window(col, row, min(size, grid.width - col), min(size, grid.height - row))
        for row in range(0, grid.height, size)
        for col in range(0, grid.width, size)
    ]


class BlockResult(TypedDict):
    """What a block's task hands back: its model maps' paths (by name), its tiles and model time."""

    paths: dict[str, str]
    tiles: int
    model_seconds: float


def block_task(
    sources: tuple[str, str], model: str, options: DetectOptions, block: Window, fixed: Fixed, folder: str, cancel: str
) -> BlockResult:
    """One block on a worker: its working GeoTIFFs in ``folder`` and what they hold."""
    log = RunLog(cancel_watch(cancel))
    Path(folder).mkdir(parents=True, exist_ok=True)
    with (
        rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES, **network_config()),
        prepare(sources, model, options, log, block, fixed) as run,
    ):
        maps, stats = infer_block(run, Path(folder), log.report)
    return {
        "paths": {name: str(path) for name, path in maps.items()},
        "tiles": stats.tiles,
        "model_seconds": stats.model_seconds,
    }


def _tiles_of(run: Prepared, block: Window) -> int:
    """Tiles the engine computes for ``block`` (a window of the map grid)."""
    return len(run.plan.around(placed_out_of(block, run.map_region))[1])


def infer_on(client: Client, model: str | Path, block_size: int = BLOCK_SIZE) -> InferStage:
    """The infer stage of :func:`scd_core.geo.pipeline.run_detection`, on ``client``'s workers, in
    blocks of ``block_size`` pixels (refused unless a positive multiple of the GeoTIFFs' block)."""
    if problem := OPTIONS["block_size"].problem(block_size):
        raise InvalidOptionError(f"--block-size {problem}")
    from scd_core.geo.engine import EngineStats  # torch: on the client, once the options are good

    def infer(run: Prepared, stage: StagingFolder, log: RunLog) -> tuple[dict[str, Path], EngineStats]:
        started = time.perf_counter()
        blocks = block_windows(run.map_grid, block_size)
        tiles = [_tiles_of(run, block) for block in blocks]
        log.report(start_event(run, stage, sum(tiles)))
        fixed, cancel = Fixed(run.bands, run.normalisers), cancel_name()
        folders = [stage / f"blocks/{i}" for i in range(len(blocks))]
        arguments = (run.paths, str(model), run.asked)
        futures = [
            client.submit(block_task, *arguments, block, fixed, str(folder), cancel, key=f"scd-block-{i}-{cancel}")
            for i, (block, folder) in enumerate(zip(blocks, folders, strict=True))
        ]
        results = _gather(client, futures, tiles, cancel, log)
        parts = [
            (block, {name: Path(path) for name, path in result["paths"].items()})
            for block, result in zip(blocks, results, strict=True)
        ]
        paths = stitch(parts, stage, run.map_grid)
        shutil.rmtree(stage / "blocks", ignore_errors=True)
        wall = time.perf_counter() - started
        stats = EngineStats(
            tiles=sum(r["tiles"] for r in results),
            model_seconds=sum(r["model_seconds"] for r in results),
            loop_seconds=wall,
            amp=run.runner.amp,
        )
        log.lap("inference", wall)
        log.timings["model"] = stats.model_seconds
        return paths, stats

    return infer


def _gather(client: Client, futures: list[Future], tiles: list[int], cancel: str, log: RunLog) -> list[BlockResult]:
    """The blocks' results in order, progress reported in tiles as blocks end."""
    from distributed import as_completed

    index = {future.key: i for i, future in enumerate(futures)}
    results: list[BlockResult | None] = [None] * len(futures)
    done, total = 0, sum(tiles)
    try:
        for future in as_completed(futures):
            results[index[future.key]] = future.result()  # a block's error is the run's error
            done += tiles[index[future.key]]
            log.report(events.progress(done, total))
    except BaseException:
        stop(client, futures, cancel)
        raise
    return [r for r in results if r is not None]


def detect_on_cluster(
    client: Client,
    before: str | Path,
    after: str | Path,
    model: str | Path,
    out_dir: str | Path,
    *,
    progress: Reporter | None = None,
    block_size: int = BLOCK_SIZE,
    **options: Any,
) -> DetectResult:
    """:func:`scd_core.detect`, its blocks computed on ``client``'s cluster (``model``: a file). With
    checked options at hand, pass them as they are: ``run_detection(..., options, progress,
    infer_on(client, model, block_size))``."""
    infer = infer_on(client, model, block_size)
    return run_detection(before, after, model, out_dir, DetectOptions(**options), progress or silent, infer)
