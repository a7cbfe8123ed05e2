"""Georeferenced pairs: a scene written as BEFORE and AFTER GeoTIFFs with its truth on BEFORE's grid.

The scene is rendered tile by tile straight into the rasters, a row of GeoTIFF blocks at a time, so
that memory stays bounded whatever the size. AFTER on a grid of its own is first written on BEFORE's
grid, then resampled onto its own (:func:`~scd_core.synth.rasters.regrid`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scd_core.labels import CLASSES, IGNORE, change_code
from scd_core.synth.files import check_targets
from scd_core.synth.footprints import Footprint, draw_footprints
from scd_core.synth.geometry import View
from scd_core.synth.plan import Plan, draw_plan
from scd_core.synth.rasters import (
    BAND_NAMES,
    NODATA,
    Grid,
    after_grid,
    default_origin,
    default_resolution,
    describe_bands,
    encode,
    image_profile,
    label_profile,
    regrid,
)
from scd_core.synth.render import Tile, quantise, render
from scd_core.synth.scene import Scene, Size, scene_shape

if TYPE_CHECKING:
    from affine import Affine
    from rasterio.crs import CRS
    from rasterio.io import DatasetWriter

#: The rasters of a pair, in the order they are opened and filled.
_RASTERS = ("before", "after", "label1", "label2", "change_type")
#: Rows of the GeoTIFFs' internal tiles, a multiple of :data:`~scd_core.synth.render.TILE`; the rasters
#: are written one row of them at a time.
_BLOCK = 256


@dataclass(frozen=True, eq=False)
class GeoPair:
    """Files written by :func:`write_geo_pair`, and the scene they hold.

    ``label1``, ``label2`` and ``change_type`` are on BEFORE's grid; ``after`` is on its own grid when
    one was asked for. ``scene`` holds the arrays on BEFORE's grid (AFTER's image before it was
    regridded) with nodata as 0 in the images and 255 in the labels, or None if not kept.
    """

    before: Path
    after: Path
    label1: Path
    label2: Path
    change_type: Path
    scene: Scene | None


def write_geo_pair(
    out_dir: str | Path,
    size: Size = 512,
    seed: int = 0,
    crs: str = "EPSG:32633",
    resolution: float | None = None,
    origin: tuple[float, float] | None = None,
    dtype: str = "uint8",
    nodata_collar: int = 0,
    after_crs: str | None = None,
    after_resolution: float | None = None,
    after_shift: tuple[float, float] | None = None,
    bands: int = 3,
    keep_scene: bool = True,
    overwrite: bool = True,
) -> GeoPair:
    """Write a georeferenced pair: ``before.tif``, ``after.tif``, and the truth on BEFORE's grid.

    The scene is :func:`~scd_core.synth.make_scene` ``(size, seed)``, rendered tile by tile into tiled,
    deflate-compressed GeoTIFFs, a row of blocks at a time: writing 8192×8192 takes about 160 MB of
    memory, plus 8 bytes per pixel for the arrays if ``keep_scene``. Truth files:
    ``label1.tif``/``label2.tif`` (class indices as in SECOND, with SECOND's colour table) and
    ``change_type.tif`` (from-to codes of :func:`scd_core.labels.change_code`); 255 marks pixels
    without data on either date, declared as their nodata.

    Args:
        size: an int for a square, or ``(height, width)`` in pixels.
        crs: any CRS rasterio understands; a geographic one (EPSG:4326) works in degrees.
        resolution: pixel size in CRS units; default half a metre (≈4.5e-6° in a geographic CRS).
        origin: upper-left corner in CRS units; default Berlin, or the middle of the CRS's area of use.
        dtype: ``"uint8"`` (grey levels 1-255), ``"uint16"`` (reflectance ×10000, as Sentinel-2 ships,
            up to 5000) or ``"float32"`` (reflectance, up to 0.5). 0 is never a valid value.
        nodata_collar: if > 0, each image gets a ragged nodata border at least about this many pixels
            wide, with nodata 0 declared, like the footprint of a slightly rotated satellite scene.
        after_crs, after_resolution, after_shift: put AFTER on its own grid: another CRS, pixel size
            (AFTER CRS units) and/or grid lines moved by ``(dx, dy)`` (CRS units, x east, y north). The
            same ground is resampled onto it (bilinear) with :func:`rasterio.warp.reproject`; the grid
            covers BEFORE's whole footprint, with nodata 0 declared where it has none.
        bands: 3 (RGB), 4 (RGB and a near-infrared band) or 1 (panchromatic).
        keep_scene: keep the arrays in :attr:`GeoPair.scene` (set False for very large pairs).
        overwrite: replace the files of a pair already in ``out_dir``; if False, one of them there is
            refused with :class:`~scd_core.errors.OutputExistsError` before anything is written.
    """
    _check_arguments(dtype, bands, nodata_collar, resolution, after_resolution)
    height, width = scene_shape(size)
    out_dir = Path(out_dir)
    paths = {name: out_dir / f"{name}.tif" for name in _RASTERS}
    check_targets(out_dir, paths.values(), overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    grids = _grids_for(height, width, crs, resolution, origin, after_crs, after_resolution, after_shift)
    plan = draw_plan(height, width, seed)
    footprints = draw_footprints(seed, height, width, nodata_collar) if nodata_collar else None
    image_nodata = NODATA if nodata_collar else None
    arrays = _SceneArrays(height, width, plan.misregistration) if keep_scene else None

    with ExitStack() as stack:
        after_path = paths["after"]
        if grids.regridded:  # AFTER is first written on BEFORE's grid, then reprojected
            staging = stack.enter_context(tempfile.TemporaryDirectory(dir=out_dir, prefix=".after-"))
            after_path = Path(staging) / "after.tif"
        rasters = {**paths, "after": after_path}
        datasets = _open_rasters(stack, rasters, grids, (height, width), dtype, bands, image_nodata)
        _write_tiles(plan, datasets, footprints, dtype, bands, arrays)
        if grids.regridded:
            datasets[1].close()
            regrid(after_path, paths["after"], grids.after_crs, grids.after, dtype, bands)
    return GeoPair(**paths, scene=arrays.scene() if arrays is not None else None)


def _check_arguments(
    dtype: str, bands: int, nodata_collar: int, resolution: float | None, after_resolution: float | None
) -> None:
    """Refuse what :func:`write_geo_pair` cannot write, before anything is written."""
    if dtype not in ("uint8", "uint16", "float32"):
        raise ValueError(f"dtype must be uint8, uint16 or float32, got {dtype!r}")
    if bands not in BAND_NAMES:
        raise ValueError(f"bands must be 1, 3 or 4, got {bands!r}")
    if nodata_collar < 0:
        raise ValueError(f"nodata_collar must be ≥ 0, got {nodata_collar}")
    for name, value in (("resolution", resolution), ("after_resolution", after_resolution)):
        if value is not None and value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")


@dataclass(frozen=True)
class _Grids:
    """Where a pair lies: BEFORE's CRS and transform, which the truth shares, and AFTER's CRS and grid."""

    crs: CRS
    transform: Affine
    after_crs: CRS
    after: Grid
    regridded: bool  # whether AFTER is on a grid of its own


def _grids_for(
    height: int,
    width: int,
    crs: str,
    resolution: float | None,
    origin: tuple[float, float] | None,
    after_crs: str | None,
    after_resolution: float | None,
    after_shift: tuple[float, float] | None,
) -> _Grids:
    """The grids of :func:`write_geo_pair`'s arguments, defaults filled in."""
    from rasterio.crs import CRS
    from rasterio.transform import from_origin

    before_crs = CRS.from_user_input(crs)
    resolution = resolution or default_resolution(before_crs)
    origin = origin or default_origin(before_crs, resolution)
    transform = from_origin(origin[0], origin[1], resolution, resolution)
    after = CRS.from_user_input(after_crs) if after_crs else before_crs
    grid = after_grid(before_crs, transform, height, width, after, after_resolution, after_shift)
    return _Grids(before_crs, transform, after, grid, after != before_crs or grid != (transform, width, height))


def _open_rasters(
    stack: ExitStack,
    paths: dict[str, Path],
    grids: _Grids,
    shape: tuple[int, int],
    dtype: str,
    bands: int,
    image_nodata: int | None,
) -> list[DatasetWriter]:
    """Open the five rasters for writing, in the order of :data:`_RASTERS`, on BEFORE's grid.

    When AFTER is to be resampled, the copy written on BEFORE's grid declares nodata 0, as its own will.
    """
    import rasterio

    height, width = shape
    before = image_profile(grids.crs, grids.transform, height, width, dtype, bands, image_nodata)
    profiles = {"before": before, "after": {**before, "nodata": NODATA if grids.regridded else image_nodata}}
    labels = label_profile(grids.crs, grids.transform, height, width)
    datasets = [stack.enter_context(rasterio.open(paths[name], "w", **profiles.get(name, labels))) for name in _RASTERS]
    for dataset in datasets[:2]:
        describe_bands(dataset, bands)
    for dataset in datasets[2:4]:
        dataset.write_colormap(1, {c.index: (*c.rgb, 255) for c in CLASSES})
    return datasets


def _write_tiles(
    plan: Plan,
    datasets: list[DatasetWriter],
    footprints: tuple[Footprint, Footprint] | None,
    dtype: str,
    bands: int,
    arrays: _SceneArrays | None,
) -> None:
    """Render the scene into the open rasters, and into ``arrays`` if given, a row of blocks at a time."""
    blocks = _RowBlocks(datasets, plan.width)
    for tile in render(plan):
        encoded, scene_part = _geo_tile(tile, footprints, dtype, bands)
        blocks.put(tile.rows, tile.cols, encoded)
        if arrays is not None:
            arrays.put(tile, *scene_part)
        if tile.cols.stop == plan.width and (tile.rows.stop % _BLOCK == 0 or tile.rows.stop == plan.height):
            blocks.flush(tile.rows.stop)


def _geo_tile(
    tile: Tile, footprints: tuple[Footprint, Footprint] | None, dtype: str, bands: int
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """A tile as the five rasters hold it (images encoded, nodata and ignore applied), and as the
    scene's arrays hold it (images band-first)."""
    label1, label2 = tile.labels()
    codes = change_code(label1, label2)
    encoded1, encoded2 = encode(tile.image1, dtype, bands), encode(tile.image2, dtype, bands)
    image1, image2 = quantise(tile.image1), quantise(tile.image2)
    if footprints is not None:
        view = View.of(tile.rows.start, tile.rows.stop, tile.cols.start, tile.cols.stop)
        valid1, valid2 = footprints[0].valid(view), footprints[1].valid(view)
        for array in (label1, label2, codes):
            array[~(valid1 & valid2)] = IGNORE
        image1[:, ~valid1] = encoded1[:, ~valid1] = NODATA
        image2[:, ~valid2] = encoded2[:, ~valid2] = NODATA
    return (encoded1, encoded2, label1, label2, codes), (image1, image2, label1, label2)


class _RowBlocks:
    """Rasters filled tile by tile and written a row of GeoTIFF blocks at a time, so that each
    compressed block is written once, whole."""

    def __init__(self, datasets: list[DatasetWriter], width: int) -> None:
        self.datasets = datasets
        self.buffers = [np.zeros((dataset.count, _BLOCK, width), dataset.dtypes[0]) for dataset in datasets]
        self.row0 = 0

    def put(self, rows: slice, cols: slice, arrays: Sequence[np.ndarray]) -> None:
        local = slice(rows.start - self.row0, rows.stop - self.row0)
        for buffer, array in zip(self.buffers, arrays, strict=True):
            buffer[:, local, cols] = array.reshape(buffer.shape[0], local.stop - local.start, -1)

    def flush(self, row1: int) -> None:
        from rasterio.windows import Window

        window = Window(0, self.row0, self.buffers[0].shape[2], row1 - self.row0)
        for dataset, buffer in zip(self.datasets, self.buffers, strict=True):
            dataset.write(buffer[:, : row1 - self.row0], window=window)
        self.row0 = row1


class _SceneArrays:
    """The arrays of a :class:`~scd_core.synth.Scene`, filled tile by tile."""

    def __init__(self, height: int, width: int, misregistration: tuple[float, float]) -> None:
        self.images: list[np.ndarray] = [np.empty((height, width, 3), np.uint8) for _ in range(2)]
        self.maps: list[np.ndarray] = [np.empty((height, width), np.uint8) for _ in range(4)]
        self.misregistration = misregistration

    def put(self, tile: Tile, image1: np.ndarray, image2: np.ndarray, label1: np.ndarray, label2: np.ndarray) -> None:
        """Store a tile; ``image1``/``image2`` band-first."""
        for target, image in zip(self.images, (image1, image2), strict=True):
            target[tile.rows, tile.cols] = image.transpose(1, 2, 0)
        for target, array in zip(self.maps, (label1, label2, tile.cover1, tile.cover2), strict=True):
            target[tile.rows, tile.cols] = array

    def scene(self) -> Scene:
        image1, image2 = self.images
        label1, label2, cover1, cover2 = self.maps
        return Scene(image1, image2, label1, label2, cover1, cover2, self.misregistration)
