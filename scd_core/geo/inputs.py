"""The *prepare* stage of a detection: every input checked before anything is written.

In this order, so that the cheapest checks fail first and a bad file or option is reported before
torch is even imported: the output folder (:mod:`.staging`), both rasters (:mod:`.rasters`), their
overlap, the AOI (:mod:`.aoi`), that each date holds valid pixels there, and each date's mask
(:mod:`.masks`); then, with torch, the device and the checkpoint, the bands the model reads
(:mod:`.bands`), the tile plan (:mod:`.grid`), the normalisers with their stretch
(:mod:`scd_core.normalise`), and the window readers (AFTER resampled onto BEFORE's grid where needed).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
import shapely
from pyproj import CRS, Geod, Transformer
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from scd_core.errors import InvalidOptionError, NoDataError, NoOverlapError
from scd_core.geo import aoi as areas
from scd_core.geo import rasters, sieve
from scd_core.geo.bands import BandChoice, select_bands
from scd_core.geo.calibration import RasterCalibration
from scd_core.geo.grid import Grid, RunWindows, TilePlan, covering_window, placed_in, placed_out_of
from scd_core.geo.masks import DateMask, open_date_mask
from scd_core.geo.options import DetectOptions
from scd_core.geo.progress import RunLog
from scd_core.legend import LandCover
from scd_core.models import decoding_of
from scd_core.normalise import Normaliser, Scale, make_normalisers

if TYPE_CHECKING:  # torch is imported once the torch-free checks have passed
    import torch
    from torch import nn

    from scd_core.checkpoint import CheckpointMetadata
    from scd_core.geo.runtimes import Runner

    #: What a run's model is given as: a checkpoint or ONNX file, or ``(module, metadata)`` as
    #: :func:`scd_core.checkpoint.load` gives.
    ModelSource = str | Path | tuple[nn.Module, CheckpointMetadata]

ROLES = ("BEFORE", "AFTER")
#: Longer side, in pixels, of the decimated read that the ``auto`` stretch is measured on.
SAMPLE_SIZE = 1024
#: A run warns when its pixels and the model's training imagery's differ in size by more than this
#: factor (checkpoint metadata ``gsd_m``): 10 m Sentinel-2 into a 0.5 m model is 20×.
RESOLUTION_TOLERANCE = 4.0


@dataclass(frozen=True)
class Prepared:
    """Everything a run needs once its inputs are known to be good (options resolved).

    Its grids are all windows of the *overlap* of both footprints, on BEFORE's pixels
    (:class:`~scd_core.geo.grid.RunWindows`): the output ``grid``, the ``map_grid`` the engine
    writes and the ``compute_grid`` its tiles cover. Tile plan, stretch and sieve are fixed on the
    overlap whatever the AOI, so a run over an AOI gives exactly the pixels of a run over the whole
    overlap.
    """

    paths: tuple[str, str]
    asked: DetectOptions  #: the options as given
    options: DetectOptions  #: the same, every per-run default resolved
    device: torch.device
    runner: Runner
    meta: CheckpointMetadata
    checkpoint_path: Path | None
    classes: tuple[LandCover, ...]
    datasets: tuple[rasterio.DatasetReader, rasterio.DatasetReader]
    bands: tuple[BandChoice, BandChoice]
    aoi: shapely.Geometry | None
    overlap: Grid
    windows: RunWindows
    readers: tuple[rasters.WindowReader, rasters.WindowReader]
    masks: tuple[DateMask | None, DateMask | None]  #: each date's mask (--mask-before...)
    normalisers: tuple[Normaliser, Normaliser]
    plan: TilePlan

    @property
    def task(self) -> str:
        """What the model tells (:func:`scd_core.checkpoint.task_of`): ``"change"`` for a change-only
        model, whose outputs have no classes, else ``"semantic"``."""
        from scd_core.checkpoint import task_of  # torch is imported by the time a run is prepared

        return task_of(self.meta)

    @property
    def num_classes(self) -> int:
        """Land-cover classes the model predicts, without "no change"."""
        return len(self.classes) - 1

    @property
    def grid(self) -> Grid:
        """The output grid."""
        return self.overlap.window(self.windows.output)

    @property
    def map_grid(self) -> Grid:
        """The grid of the engine's maps."""
        return self.overlap.window(self.windows.maps)

    @property
    def compute_grid(self) -> Grid:
        """The grid the readers read and the tile plan covers."""
        return self.overlap.window(self.windows.compute)

    @property
    def region(self) -> Window:
        """The output grid's window in the compute grid."""
        return placed_in(self.windows.output, self.windows.compute)

    @property
    def map_region(self) -> Window:
        """The map grid's window in the compute grid."""
        return placed_in(self.windows.maps, self.windows.compute)


def _area_of_interest(options: DetectOptions, crs: str) -> areas.Area | None:
    """The AOI (a file, or ``--bbox``) in BEFORE's CRS."""
    if options.aoi is not None:
        return areas.read_aoi(options.aoi, crs)
    if options.bbox is not None:
        return areas.parse_bbox(options.bbox, crs)
    return None


@dataclass(frozen=True)
class _Model:
    device: torch.device
    net: nn.Module | None  #: None for an ONNX file
    meta: CheckpointMetadata
    path: Path | None
    classes: tuple[LandCover, ...]


def _load_model(model: ModelSource, device_name: str) -> _Model:
    """The device and the model: a checkpoint or ONNX file, or ``(module, metadata)``. The first use
    of torch."""
    from scd_core import checkpoint
    from scd_core.devices import resolve_device
    from scd_core.export import onnx_metadata

    device = resolve_device(device_name)
    net: nn.Module | None
    if isinstance(model, (str, Path)) and Path(model).suffix.lower() == ".onnx":
        net, meta, path = None, onnx_metadata(model), Path(model)
    elif isinstance(model, (str, Path)):
        (net, meta), path = checkpoint.load(model, device), Path(model)
    else:
        (net, meta), path = model, None
    return _Model(device, net, meta, path, checkpoint.land_cover_classes(meta))


#: Models loaded in this process, by file, its size and time and how they run: ``scd batch`` and a
#: cluster's workers load a model once, not once per pair. The oldest goes when it is full.
_LOADED: dict[tuple, tuple[_Model, Runner]] = {}
_LOADED_AT_MOST = 4


def load_once(
    model: ModelSource,
    device_name: str,
    runtime: str,
    log: RunLog,
    precision: str = "fp32",
    calibration: RasterCalibration | None = None,
) -> tuple[_Model, Runner]:
    """The model and its runner, from this process's cache when the same file was loaded before (and
    the reduced precision judged on the same ``calibration``)."""
    from scd_core.geo import runtimes

    key = None
    if isinstance(model, (str, Path)) and Path(model).is_file():
        stat = Path(model).stat()
        judged_on = None if calibration is None or precision == "fp32" else calibration.key
        key = (str(Path(model).absolute()), stat.st_mtime_ns, stat.st_size, device_name, runtime, precision, judged_on)
        if key in _LOADED:
            return _LOADED[key]
    loaded = _load_model(model, device_name)
    runner = runtimes.choose(runtime, loaded.net, loaded.meta, loaded.path, loaded.device, log, precision, calibration)
    if key is not None:
        while len(_LOADED) >= _LOADED_AT_MOST:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = (loaded, runner)
    return loaded, runner


def _warn_of_training_data(meta: CheckpointMetadata, log: RunLog) -> None:
    """A model that never saw real imagery says so (the demo model's metadata does)."""
    data = meta.get("training_data") or {}
    if isinstance(data, dict) and data.get("kind") == "synthetic":
        what = f" ({data['description']})" if data.get("description") else ""
        log.warning(
            f"the model was trained on synthetic scenes only{what}: it shows the workflow; "
            "on real imagery use a model trained on imagery like yours"
        )


def ground_pixel_size(grid: Grid) -> float | None:
    """The side in metres of the square of equal area to ``grid``'s central pixel, measured on its
    CRS's ellipsoid, so degrees, feet and Web Mercator's stretched metres all count true metres;
    None where the CRS has no ellipsoid (an engineering CRS)."""
    crs = CRS.from_user_input(grid.crs)
    if crs.geodetic_crs is None:
        return None
    col, row = grid.width / 2, grid.height / 2
    corners = [grid.transform @ corner for corner in ((col, row), (col + 1, row), (col, row + 1))]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    if not crs.is_geographic:  # rasterio gives a geographic CRS's coordinates as longitude, latitude
        xs, ys = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(xs, ys)
    geod = crs.get_geod() or Geod(ellps="WGS84")
    across = geod.inv(xs[0], ys[0], xs[1], ys[1])[2]
    down = geod.inv(xs[0], ys[0], xs[2], ys[2])[2]
    return math.sqrt(across * down)


def _warn_of_decode(meta: CheckpointMetadata, options: DetectOptions, log: RunLog) -> None:
    """``--decode`` reads the classes of a change; a change-only model has none, so any reading is
    ignored, and one asked for other than the default is warned of rather than refused: a batch or a
    plugin run with ``paper`` still runs a change model."""
    from scd_core import checkpoint  # torch is imported by now (load_once)

    if checkpoint.task_of(meta) == "change" and options.decode != DetectOptions.decode:
        log.warning(f"--decode {options.decode} is ignored: a change-only model has no classes to read")


def _warn_of_resolution(meta: CheckpointMetadata, grid: Grid, log: RunLog) -> None:
    """A model knows objects at the size in pixels it saw them: a warning when BEFORE's pixels are
    more than :data:`RESOLUTION_TOLERANCE` times larger or smaller than its training imagery's."""
    from scd_core import checkpoint  # torch is imported by now (load_once)

    trained, here = checkpoint.gsd_range(meta.get("gsd_m")), ground_pixel_size(grid)
    if trained is None or here is None:
        return  # a checkpoint from before gsd_m, or a CRS without metres
    low, high = trained
    said = f"{low:g}" if low == high else f"{low:g}-{high:g}"
    if here > high * RESOLUTION_TOLERANCE:
        what = f"{here / high:.3g}× smaller in pixels than in its training, which no resampling restores"
    elif here < low / RESOLUTION_TOLERANCE:
        what = f"{low / here:.3g}× larger in pixels than in its training (resampling to about {low:g} m may help)"
    else:
        return
    log.warning(
        f"BEFORE's pixels are {here:.3g} m on the ground and the model was trained on {said} m pixels: "
        f"it sees objects {what}; expect poor results, or use a model trained on imagery of about {here:.2g} m"
    )


def _readers(
    datasets: tuple,
    bands: tuple[BandChoice, BandChoice],
    grid: Grid,
    paths: tuple[str, str],
    overlap: Grid,
    date_masks: tuple[DateMask | None, DateMask | None],
) -> tuple:
    """Both dates' readers of windows of ``grid``, a window of ``overlap`` (which a resampled date is
    warped onto whole, so a pixel reads the same in every run over it), each with its mask."""
    return tuple(
        rasters.WindowReader(
            d, b.bands, grid, p, r, warp_grid=overlap, mask=None if m is None else m.reader(grid, overlap)
        )
        for d, b, p, r, m in zip(datasets, bands, paths, ROLES, date_masks, strict=True)
    )


def _open_masks(
    stack: ExitStack, options: DetectOptions, overlap: Grid, area: Window | None, aoi: shapely.Geometry | None
) -> tuple[DateMask | None, DateMask | None]:
    """Each date's mask (:mod:`.masks`), or None; measured over ``area`` (None: not measured).

    ``--mask-values`` without a mask is refused here, where the masks are known: ``scd series`` gives
    its dates' masks otherwise (``--mask-series``), and ``scd batch`` per pair."""
    if options.mask_values is not None and options.mask_before is None and options.mask_after is None:
        raise InvalidOptionError(
            "--mask-values says which values of a mask to mask: give --mask-before or --mask-after"
        )

    def opened(path: str | Path | None, flag: str) -> DateMask | None:
        if path is None:
            return None
        name = rasters.source_name(path)
        return open_date_mask(stack, name, flag, options.mask_values, overlap, area, aoi)

    return opened(options.mask_before, "--mask-before"), opened(options.mask_after, "--mask-after")


def _normalisers(
    meta: CheckpointMetadata, options: DetectOptions, datasets: tuple, overlap_readers: tuple, log: RunLog
) -> tuple[Normaliser, Normaliser]:
    """Both dates' normalisers, the stretch measured over the whole overlap (never the AOI)."""
    stored = meta["normalisation"].get("scale", "auto")
    checkpoint_scale: Scale = stored if isinstance(stored, str) else (float(stored[0]), float(stored[1]))
    wanted_scale = checkpoint_scale if options.scale is None else options.scale
    lattice = any(reader.needs_lattice(SAMPLE_SIZE) for reader in overlap_readers)  # both alike, pixel for pixel
    samples = [reader.overview(SAMPLE_SIZE, lattice=lattice) for reader in overlap_readers]
    if not (samples[0][1] & samples[1][1]).any():
        raise NoDataError("BEFORE and AFTER have no valid pixel in common where they overlap", None)
    dtypes = (datasets[0].dtypes[0], datasets[1].dtypes[0])
    normalisers = make_normalisers(meta["normalisation"], wanted_scale, dtypes, samples)
    hint = " (set your own with --scale LOW,HIGH)" if options.scale is None else ""
    if not isinstance(wanted_scale, tuple) and normalisers[0].raw_low is not None and normalisers[0] is normalisers[1]:
        log.message(f"BEFORE and AFTER are {dtypes[0]}: one stretch for both, {normalisers[0].describe()}{hint}")
        return normalisers
    for role, dtype, normaliser in zip(ROLES, dtypes, normalisers, strict=True):
        if normaliser.raw_low is not None and not isinstance(wanted_scale, tuple):
            log.message(f"{role} is {dtype}: {normaliser.describe()}{hint}")
    return normalisers


def _overlap(datasets: tuple, paths: tuple[str, str], grid: Grid | None) -> Grid:
    """The overlap of both dates on BEFORE's pixels, or on ``grid``'s (the ``grid`` option's) where given:
    ``grid`` clipped to the same ground."""
    overlap = rasters.overlap_grid(datasets[0], datasets[1], paths)
    if grid is None:
        return overlap
    bounds = transform_bounds(overlap.crs, grid.crs, *overlap.bounds, densify_pts=21)
    window = covering_window(grid.transform, grid.width, grid.height, [bounds])
    if window is None:
        raise NoOverlapError("the dates share no ground with the grid the run is asked to lie on", paths[0])
    return grid.window(window)


def _say_resampled(readers: tuple, datasets: tuple, overlap: Grid, other_grid: bool, log: RunLog) -> None:
    """Tell which date is resampled onto the output grid, and why."""
    onto = "the grid asked for" if other_grid else "BEFORE's grid"
    for reader, dataset, role in zip(readers, datasets, ROLES, strict=True):
        if reader.resampled:
            log.message(f"{role} is resampled onto {onto} ({_resampling_reason(dataset, overlap)})")


def _resampling_reason(date: rasterio.DatasetReader, grid: Grid) -> str:
    if date.crs.to_string() != grid.crs:
        return f"{date.crs.to_string()} → {grid.crs}"
    if not np.allclose(date.res, (abs(grid.transform.a), abs(grid.transform.e))):
        return f"pixel size {date.res[0]:g} → {abs(grid.transform.a):g}"
    return "origin off the output's pixel grid"


def _choose_bands(
    datasets: tuple, paths: tuple[str, str], meta: CheckpointMetadata, options: DetectOptions, log: RunLog
) -> tuple[BandChoice, BandChoice]:
    before, after = (
        select_bands(d, p, meta["bands"], options.bands, r) for d, p, r in zip(datasets, paths, ROLES, strict=True)
    )
    choices = (before, after)
    for role, choice in zip(ROLES, choices, strict=True):
        if choice.reason.startswith("the file does not name"):
            log.message(f"{role}: {choice.reason}")
    return choices


@dataclass(frozen=True)
class Fixed:
    """What each block of a split run takes from the whole run's prepare stage, so that every block
    reads the same bands with the same stretch without measuring them again."""

    bands: tuple[BandChoice, BandChoice]
    normalisers: tuple[Normaliser, Normaliser]


def _block_of(window: Window, block: Window | None) -> Window:
    """``block`` (a window of the map grid ``window``) in the overlap's pixels, inside ``window``."""
    if block is None:
        return window
    return placed_out_of(block, window).intersection(window)


@contextmanager
def prepare(
    paths: tuple[str, str],
    model: ModelSource,
    options: DetectOptions,
    log: RunLog,
    block: Window | None = None,
    fixed: Fixed | None = None,
) -> Iterator[Prepared]:
    """Check every input of a run and open what it reads; everything is closed on leaving.

    ``block`` limits the maps to a window of the whole run's map grid (one block of a split run)
    without changing a pixel of it; ``fixed`` gives the bands and stretch the whole run chose (its per-date checks
    are then skipped too: the whole run made them).
    """
    with ExitStack() as stack:
        datasets = tuple(stack.enter_context(rasters.open_raster(p, r)) for p, r in zip(paths, ROLES, strict=True))
        overlap = _overlap(datasets, paths, options.grid)
        area = _area_of_interest(options, overlap.crs)
        output = rasters.area_window(overlap, area)
        maps = _block_of(sieve.context_window(output, overlap.width, overlap.height, options.mmu), block)
        if fixed is None:
            for dataset, path, role in zip(datasets, paths, ROLES, strict=True):
                rasters.check_has_data(dataset, path, role, overlap)
        aoi = None if area is None else area.geometry
        date_masks = _open_masks(stack, options, overlap, output if fixed is None else None, aoi)
        calibration = RasterCalibration.of(options, model, prepare)
        loaded, runner = load_once(model, options.device, options.runtime, log, options.precision, calibration)  # torch
        meta = loaded.meta
        if fixed is None:
            _warn_of_training_data(meta, log)
            _warn_of_resolution(meta, overlap, log)
            _warn_of_decode(meta, options, log)
        resolved = options.resolved(meta["tile_size"], meta["threshold"], loaded.device.type)
        if decoding := decoding_of(meta["model"]):  # a model read its own way (HRSCD.str2)
            resolved = replace(resolved, decode=decoding)
        bands = _choose_bands(datasets, paths, meta, resolved, log) if fixed is None else fixed.bands
        assert resolved.tile is not None and resolved.overlap is not None  # resolved() fills them in
        whole = TilePlan.build(overlap.height, overlap.width, resolved.tile, resolved.overlap, resolved.tile_offset)
        compute, plan = whole.around(maps)
        run_windows = RunWindows(overlap.width, overlap.height, output, maps, compute)
        if fixed is None:
            with ExitStack() as sampling:
                overlap_readers = _readers(datasets, bands, overlap, paths, overlap, date_masks)
                for reader in overlap_readers:
                    sampling.callback(reader.close)
                normalisers = _normalisers(meta, resolved, datasets, overlap_readers, log)
        else:
            normalisers = fixed.normalisers
        readers = _readers(datasets, bands, overlap.window(compute), paths, overlap, date_masks)
        for reader in readers:
            stack.callback(reader.close)
        if fixed is None:
            _say_resampled(readers, datasets, overlap, options.grid is not None, log)
        log.lap("validate")
        yield Prepared(
            paths=paths,
            asked=options,
            options=resolved,
            device=loaded.device,
            runner=runner,
            meta=meta,
            checkpoint_path=loaded.path,
            classes=loaded.classes,
            datasets=datasets,
            bands=bands,
            aoi=aoi,
            overlap=overlap,
            windows=run_windows,
            readers=readers,
            masks=date_masks,
            normalisers=normalisers,
            plan=plan,
        )
