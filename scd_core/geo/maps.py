"""The raster outputs: working GeoTIFFs written strip by strip, then Cloud Optimized GeoTIFFs.

The engine's finished regions (:class:`Region`, probabilities × :data:`PROB_SCALE`) go into two
tiled, compressed working GeoTIFFs in the staging folder, change types and probabilities over the
run's map grid (:class:`MapWriter`). From them the sieve writes the output grid's working maps
(:func:`finish_maps`), which are then copied into COGs (GDAL's COG driver: internal tiling,
overviews, DEFLATE) on the output grid (:func:`finish_cog`), each with a colour table, its class
names and the run's parameters in its metadata.

With N land-cover classes (6 for SECOND):

==================  =====  ==============================================  ========
file                dtype  values                                          nodata
==================  =====  ==============================================  ========
change_type.tif     uint8  from-to codes 0 (no change) .. N²               255
before_class.tif    uint8  class of date 1 where changed, 0 where not      255
after_class.tif     uint8  class of date 2 where changed, 0 where not      255
change_prob.tif     uint8  change probability × 250 (scale 0.004 is set)   255
==================  =====  ==============================================  ========

A change-only model (checkpoint task ``change``) has one class, "change": its change_type.tif holds
0 (no change) and 1 (change), and it has no class maps (:data:`CLASS_MAPS`), as nothing tells the
classes of its dates.

Colours come from :mod:`scd_core.legend`, the same table the preview and the QGIS styles use. The
module imports no torch: the engine (:mod:`.blending`) hands it plain arrays, and vectorising and
the reports read its scale without loading a model's runtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import shapely
from rasterio import windows
from rasterio.features import geometry_mask
from rasterio.windows import Window

from scd_core.geo import sieve
from scd_core.geo.grid import BLOCK, Grid, RunWindows, placed_in
from scd_core.geo.staging import StagingFolder
from scd_core.labels import change_code
from scd_core.legend import LandCover, change_types

NODATA = 255
#: Change probabilities are stored as ``round(p * PROB_SCALE)`` in uint8 (255 is nodata).
PROB_SCALE = 250
Colormap = dict[int, tuple[int, int, int, int]]
#: Final raster names (without ``.tif``), in the order of the protocol's ``outputs``.
RASTERS = ("change_type", "before_class", "after_class", "change_prob")
#: The per-date class maps, which a change-only model does not write.
CLASS_MAPS = ("before_class", "after_class")
#: The maps the engine writes, over the run's map grid (the output area and the sieve's context);
#: the others are written from them (:func:`finish_maps`).
MODEL_MAPS = ("change_type", "change_prob")
#: Working raster of pixels to polygonise (changed and valid); never reaches OUT_DIR.
CHANGED_MASK = "changed_mask"
_WORKING_PROFILE = {
    "driver": "GTiff",
    "dtype": "uint8",
    "count": 1,
    "tiled": True,
    "blockxsize": BLOCK,
    "blockysize": BLOCK,
    "compress": "deflate",
    "zlevel": 1,
    "bigtiff": "if_safer",
}


@dataclass(frozen=True)
class Region:
    """Finished outputs of a window of the output grid (uint8 maps, all aligned), as the engine
    decodes them (:mod:`.blending`)."""

    window: Window
    before: np.ndarray  #: class of date 1 where changed, 0 where not (eq. 1)
    after: np.ndarray  #: class of date 2 where changed, 0 where not
    prob: np.ndarray  #: change probability × PROB_SCALE
    valid: np.ndarray  #: both dates have data here


def crop(region: Region, window: Window) -> Region | None:
    """The part of ``region`` inside ``window`` (both in the engine's pixels), placed relative to
    ``window``'s corner; None when they do not meet."""
    top = max(int(region.window.row_off), int(window.row_off))
    left = max(int(region.window.col_off), int(window.col_off))
    bottom = min(int(region.window.row_off + region.window.height), int(window.row_off + window.height))
    right = min(int(region.window.col_off + region.window.width), int(window.col_off + window.width))
    if bottom <= top or right <= left:
        return None
    rows = slice(top - int(region.window.row_off), bottom - int(region.window.row_off))
    cols = slice(left - int(region.window.col_off), right - int(region.window.col_off))
    return Region(
        window=Window(left - int(window.col_off), top - int(window.row_off), right - left, bottom - top),
        before=region.before[rows, cols],
        after=region.after[rows, cols],
        prob=region.prob[rows, cols],
        valid=region.valid[rows, cols],
    )


def class_colormap(classes: Sequence[LandCover]) -> Colormap:
    """Colours of class maps: the label set's class colours, nodata transparent."""
    table: Colormap = {c.index: (*c.rgb, 255) for c in classes}
    table[NODATA] = (0, 0, 0, 0)
    return table


def change_type_colormap(classes: Sequence[LandCover]) -> Colormap:
    """Colours of the change-type map: the legend's fills, "no change" in its label colour."""
    table: Colormap = {0: (*classes[0].rgb, 255)}
    table.update({change.code: (*change.fill, 255) for change in change_types(classes)})
    table[NODATA] = (0, 0, 0, 0)
    return table


def probability_colormap() -> Colormap:
    """White (p = 0) through orange to dark red (p = 1); nodata transparent."""
    stops = np.array([[255, 255, 255], [253, 141, 60], [128, 0, 38]], dtype=float)
    table: Colormap = {}
    for value in range(PROB_SCALE + 1):
        t = value / PROB_SCALE * 2
        low = min(int(t), 1)
        red, green, blue = (int(v) for v in np.round(stops[low] + (stops[low + 1] - stops[low]) * (t - low)))
        table[value] = (red, green, blue, 255)
    table[NODATA] = (0, 0, 0, 0)
    return table


@dataclass
class WorkingMaps:
    """The output grid's working GeoTIFFs (by raster name, plus the changed-pixel mask), the pixels
    of each change type (codes 0..N²) and the nodata pixels."""

    paths: dict[str, Path]
    code_pixels: np.ndarray
    nodata_pixels: int


def _working_profile(grid: Grid, name: str) -> dict:
    return {
        **_WORKING_PROFILE,
        "crs": grid.crs,
        "transform": grid.transform,
        "width": grid.width,
        "height": grid.height,
        "nodata": None if name == CHANGED_MASK else NODATA,
    }


def _model_paths(folder: StagingFolder | Path) -> dict[str, Path]:
    return {name: folder / f".model-{name}.tif" for name in MODEL_MAPS}


def stitch(
    parts: Sequence[tuple[Window, dict[str, Path]]], folder: StagingFolder | Path, grid: Grid
) -> dict[str, Path]:
    """The model's maps of the whole ``grid`` from those of its blocks (``(window, paths)``, windows
    in ``grid``'s pixels), copied block by block: memory holds one block."""
    paths = _model_paths(folder)
    for name, path in paths.items():
        with rasterio.open(path, "w", **_working_profile(grid, name)) as whole:
            for window, block_paths in parts:
                with rasterio.open(block_paths[name]) as block:
                    whole.write(block.read(1), 1, window=window)
    return paths


class MapWriter:
    """Writes the engine's finished regions into the model's maps (:data:`MODEL_MAPS`) of a grid.

    Called from the engine's writer thread only. Pixels nodata on either date become nodata.
    """

    def __init__(self, folder: StagingFolder | Path, grid: Grid, num_classes: int) -> None:
        self.num_classes = num_classes
        self.paths = _model_paths(folder)
        self.files = {
            name: rasterio.open(path, "w", **_working_profile(grid, name)) for name, path in self.paths.items()
        }

    def __call__(self, region: Region) -> None:
        """Write ``region``'s change codes and change probability, nodata where either date has none."""
        codes = change_code(region.before, region.after, self.num_classes)
        for name, values in (("change_type", codes), ("change_prob", region.prob)):
            self.files[name].write(np.where(region.valid, values, NODATA).astype(np.uint8), 1, window=region.window)

    def close(self) -> dict[str, Path]:
        """Close the maps; their paths."""
        for dataset in self.files.values():
            dataset.close()
        return self.paths


def finish_maps(
    model_maps: dict[str, Path],
    folder: StagingFolder | Path,
    windows_of_run: RunWindows,
    grid: Grid,
    aoi: shapely.Geometry | None,
    num_classes: int,
    mmu: int,
    class_maps: bool = True,
) -> WorkingMaps:
    """The output grid's working maps from the model's maps: the change types sieved
    (:mod:`.sieve`) and cropped to ``grid``, pixels outside the AOI made nodata, and the per-date
    class maps (unless ``class_maps`` is false: a change-only model's) and the changed-pixel mask
    written from the change types, so all maps tell one story.
    """
    output, maps = windows_of_run.output, windows_of_run.maps
    output_in_maps = placed_in(output, maps)
    names = RASTERS if class_maps else tuple(name for name in RASTERS if name not in CLASS_MAPS)
    paths = {name: folder / f".working-{name}.tif" for name in (*names, CHANGED_MASK)}
    code_pixels = np.zeros(1 + num_classes * num_classes, dtype=np.int64)
    nodata_pixels = 0
    strips = sieve.sieved_strips(
        model_maps["change_type"], maps, output, windows_of_run.overlap_width, windows_of_run.overlap_height, mmu
    )
    with ExitStack() as stack:
        files = {
            name: stack.enter_context(rasterio.open(path, "w", **_working_profile(grid, name)))
            for name, path in paths.items()
        }
        probabilities = stack.enter_context(rasterio.open(model_maps["change_prob"]))
        for row, codes in strips:
            window = Window(0, row, grid.width, codes.shape[0])
            valid = codes != NODATA
            if aoi is not None:
                transform = windows.transform(window, grid.transform)
                valid &= geometry_mask([aoi], valid.shape, transform, all_touched=True, invert=True)
            in_maps = Window(output_in_maps.col_off, output_in_maps.row_off + row, *codes.shape[::-1])
            changed = valid & (codes > 0)
            planes = {"change_type": codes, "change_prob": probabilities.read(1, window=in_maps)}
            if class_maps:
                offset = codes.astype(np.int16) - 1
                planes["before_class"] = np.where(changed, 1 + offset // num_classes, 0)
                planes["after_class"] = np.where(changed, 1 + offset % num_classes, 0)
            for name, values in planes.items():
                files[name].write(np.where(valid, values, NODATA).astype(np.uint8), 1, window=window)
            files[CHANGED_MASK].write(changed.astype(np.uint8), 1, window=window)
            code_pixels += np.bincount(codes[valid], minlength=len(code_pixels))
            nodata_pixels += int(valid.size - valid.sum())
    return WorkingMaps(paths, code_pixels, nodata_pixels)


def finish_cog(
    working: Path,
    final: Path,
    colormap: Colormap,
    description: str,
    tags: dict[str, str],
    categorical: bool,
    scale: float = 1.0,
) -> None:
    """Copy a working GeoTIFF into a COG with its colour table, description and tags."""
    with rasterio.open(working, "r+") as dataset:
        dataset.write_colormap(1, colormap)
        dataset.set_band_description(1, description)
        dataset.update_tags(**tags)
        if scale != 1.0:
            dataset.scales = (scale,)
            dataset.offsets = (0.0,)
    rasterio.shutil.copy(
        working,
        final,
        driver="COG",
        compress="deflate",
        blocksize=512,
        overview_resampling="mode" if categorical else "average",
        num_threads="all_cpus",
        bigtiff="if_safer",
    )
