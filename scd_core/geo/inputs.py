"""The *prepare* stage of a detection: every input checked before anything is written.

In this order, so that the cheapest checks fail first and a bad file or option is reported before
torch is even imported: the output folder (:mod:`.staging`), both rasters (:mod:`.rasters`), the AOI
(:mod:`.aoi`) and the output grid; then, with torch, the device and the checkpoint, the bands the
model reads, the window readers (AFTER resampled onto BEFORE's grid where needed), the normalisers
(:mod:`.normalise`) and the tile plan (:mod:`.grid`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
import shapely

from scd_core.geo import aoi as areas
from scd_core.geo import rasters
from scd_core.geo.grid import Grid, TilePlan
from scd_core.geo.normalise import Normaliser, Scale, make_normaliser
from scd_core.geo.options import DetectOptions
from scd_core.geo.progress import RunLog
from scd_core.geo.staging import check_output_dir
from scd_core.legend import LandCover

if TYPE_CHECKING:  # torch is imported once the torch-free checks have passed
    import torch
    from torch import nn

    from scd_core.checkpoint import CheckpointMetadata

ROLES = ("BEFORE", "AFTER")
#: Longer side, in pixels, of the decimated read that the ``auto`` stretch is measured on.
SAMPLE_SIZE = 1024


@dataclass(frozen=True)
class Prepared:
    """Everything a run needs once its inputs are known to be good (options resolved)."""

    paths: tuple[str, str]
    out_dir: Path
    options: DetectOptions
    device: torch.device
    net: nn.Module
    meta: CheckpointMetadata
    checkpoint_path: Path | None
    classes: tuple[LandCover, ...]
    datasets: tuple[rasterio.DatasetReader, rasterio.DatasetReader]
    bands: tuple[tuple[int, ...], tuple[int, ...]]
    aoi: shapely.Geometry | None
    grid: Grid
    readers: tuple[rasters.WindowReader, rasters.WindowReader]
    normalisers: tuple[Normaliser, Normaliser]
    plan: TilePlan

    @property
    def num_classes(self) -> int:
        return len(self.classes) - 1


def _area_of_interest(options: DetectOptions, crs: str) -> tuple[shapely.Geometry | None, str | Path | None]:
    """The AOI polygon in BEFORE's CRS and where it came from (the file, or ``--bbox``)."""
    if options.aoi is not None:
        return areas.read_aoi(options.aoi, crs), options.aoi
    if options.bbox is not None:
        return areas.parse_bbox(options.bbox, crs), "--bbox"
    return None, None


@dataclass(frozen=True)
class _Model:
    device: torch.device
    net: nn.Module
    meta: CheckpointMetadata
    path: Path | None
    classes: tuple[LandCover, ...]


def _load_model(model: Any, device_name: str) -> _Model:
    """The device and the model: a checkpoint path, or ``(module, metadata)``. The first use of torch."""
    from scd_core import checkpoint
    from scd_core.devices import resolve_device

    device = resolve_device(device_name)
    if isinstance(model, (str, Path)):
        net, meta = checkpoint.load(model, device)
        path: Path | None = Path(model)
    else:
        (net, meta), path = model, None
    return _Model(device, net, meta, path, checkpoint.land_cover_classes(meta))


def _normalisers(
    meta: CheckpointMetadata, options: DetectOptions, datasets: tuple, readers: tuple, log: RunLog
) -> tuple[Normaliser, Normaliser]:
    stored = meta["normalisation"].get("scale", "auto")
    checkpoint_scale: Scale = stored if isinstance(stored, str) else (float(stored[0]), float(stored[1]))
    wanted_scale = checkpoint_scale if options.scale is None else options.scale
    samples = [reader.overview(SAMPLE_SIZE) for reader in readers]
    normalisers = []
    for role, dataset, (sample, valid) in zip(ROLES, datasets, samples, strict=True):
        normaliser = make_normaliser(meta["normalisation"], wanted_scale, dataset.dtypes[0], sample, valid)
        normalisers.append(normaliser)
        if normaliser.raw_low is not None:
            log.message(f"{role} is {dataset.dtypes[0]}: {normaliser.describe()} (set your own with --scale LOW,HIGH)")
    if not (samples[0][1] & samples[1][1]).any():
        log.warning("BEFORE and AFTER share almost no valid pixels in the output area; most outputs will be nodata")
    return normalisers[0], normalisers[1]


def _resampling_reason(after: rasterio.DatasetReader, grid: Grid) -> str:
    if after.crs.to_string() != grid.crs:
        return f"{after.crs.to_string()} → {grid.crs}"
    if not np.allclose(after.res, (abs(grid.transform.a), abs(grid.transform.e))):
        return f"pixel size {after.res[0]:g} → {abs(grid.transform.a):g}"
    return "origin off BEFORE's pixel grid"


@contextmanager
def prepare(
    paths: tuple[str, str], model: Any, out_dir: str | Path, options: DetectOptions, log: RunLog
) -> Iterator[Prepared]:
    """Check every input of a run and open what it reads; everything is closed on leaving."""
    out_dir = check_output_dir(out_dir, options.overwrite)
    with ExitStack() as stack:
        datasets = (
            stack.enter_context(rasters.open_raster(paths[0], ROLES[0])),
            stack.enter_context(rasters.open_raster(paths[1], ROLES[1])),
        )
        aoi, aoi_source = _area_of_interest(options, datasets[0].crs.to_string())
        grid = rasters.output_grid(datasets[0], datasets[1], paths, aoi, aoi_source)
        loaded = _load_model(model, options.device)
        meta = loaded.meta
        resolved = options.resolved(meta["tile_size"], meta["threshold"], loaded.device.type)
        bands = (
            rasters.select_bands(datasets[0], paths[0], meta["bands"], resolved.bands, ROLES[0]),
            rasters.select_bands(datasets[1], paths[1], meta["bands"], resolved.bands, ROLES[1]),
        )
        readers = (
            rasters.WindowReader(datasets[0], bands[0], grid, paths[0], ROLES[0]),
            rasters.WindowReader(datasets[1], bands[1], grid, paths[1], ROLES[1]),
        )
        for reader in readers:
            stack.callback(reader.close)
        if readers[1].resampled:
            log.message(f"AFTER is resampled onto BEFORE's grid ({_resampling_reason(datasets[1], grid)})")
        normalisers = _normalisers(meta, resolved, datasets, readers, log)
        assert resolved.tile is not None and resolved.overlap is not None  # resolved() fills them in
        plan = TilePlan.build(grid.height, grid.width, resolved.tile, resolved.overlap, offset=resolved.tile_offset)
        log.lap("validate")
        yield Prepared(
            paths, out_dir, resolved, loaded.device, loaded.net, meta, loaded.path, loaded.classes,
            datasets, bands, aoi, grid, readers, normalisers, plan,
        )  # fmt: skip
