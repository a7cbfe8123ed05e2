"""The raster outputs: working GeoTIFFs written strip by strip, then Cloud Optimized GeoTIFFs.

Finished regions are written into tiled, compressed working GeoTIFFs in the staging folder
(:class:`MapWriter`), then copied into COGs (GDAL's COG driver: internal tiling, overviews, DEFLATE)
on the output grid (:func:`finish_cog`), each with a colour table, its class names and the run's
parameters in its metadata. With N land-cover classes (6 for SECOND):

==================  =====  ==============================================  ========
file                dtype  values                                          nodata
==================  =====  ==============================================  ========
change_type.tif     uint8  from-to codes 0 (no change) .. N²               255
before_class.tif    uint8  class of date 1 where changed, 0 where not      255
after_class.tif     uint8  class of date 2 where changed, 0 where not      255
change_prob.tif     uint8  change probability × 250 (scale 0.004 is set)   255
==================  =====  ==============================================  ========

Colours come from :mod:`scd_core.legend`, the same table the preview and the QGIS styles use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import shapely
from rasterio import windows
from rasterio.features import geometry_mask
from rasterio.windows import Window

from scd_core.geo.blending import PROB_SCALE, Region
from scd_core.geo.grid import BLOCK, Grid
from scd_core.geo.staging import StagingFolder
from scd_core.labels import change_code
from scd_core.legend import LandCover, change_types

NODATA = 255
Colormap = dict[int, tuple[int, int, int, int]]
#: Final raster names (without ``.tif``), in the order of the protocol's ``outputs``.
RASTERS = ("change_type", "before_class", "after_class", "change_prob")
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
    """The infer stage's result: the working GeoTIFFs (by raster name, plus the changed-pixel mask),
    the pixels of each change type (codes 0..N²) and the nodata pixels."""

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


def stitch(
    parts: Sequence[tuple[Window, dict[str, Path]]], folder: StagingFolder | Path, grid: Grid
) -> dict[str, Path]:
    """Working GeoTIFFs of the whole ``grid`` from the working GeoTIFFs of its blocks (``(window,
    paths)``, windows in ``grid``'s pixels), copied block by block: memory holds one block."""
    paths = {name: folder / f".working-{name}.tif" for name in (*RASTERS, CHANGED_MASK)}
    for name, path in paths.items():
        with rasterio.open(path, "w", **_working_profile(grid, name)) as whole:
            for window, block_paths in parts:
                with rasterio.open(block_paths[name]) as block:
                    whole.write(block.read(1), 1, window=window)
    return paths


class MapWriter:
    """Writes finished regions into the working GeoTIFFs of a staging folder and counts pixels.

    Called from the engine's writer thread only. Pixels outside the AOI, or nodata on either date,
    become nodata in every map.
    """

    def __init__(
        self, folder: StagingFolder | Path, grid: Grid, aoi: shapely.Geometry | None, num_classes: int
    ) -> None:
        self.grid, self.aoi, self.num_classes = grid, aoi, num_classes
        self.paths = {name: folder / f".working-{name}.tif" for name in (*RASTERS, CHANGED_MASK)}
        self.files = {
            name: rasterio.open(path, "w", **_working_profile(grid, name)) for name, path in self.paths.items()
        }
        self.code_pixels = np.zeros(1 + num_classes * num_classes, dtype=np.int64)
        self.nodata_pixels = 0

    def __call__(self, region: Region) -> None:
        valid = region.valid
        if self.aoi is not None:
            transform = windows.transform(region.window, self.grid.transform)
            valid = valid & geometry_mask([self.aoi], valid.shape, transform, invert=True)
        codes = change_code(region.before, region.after, self.num_classes)
        maps = {
            "change_type": codes,
            "before_class": region.before,
            "after_class": region.after,
            "change_prob": region.prob,
        }
        for name, values in maps.items():
            self.files[name].write(np.where(valid, values, NODATA).astype(np.uint8), 1, window=region.window)
        self.files[CHANGED_MASK].write(((codes > 0) & valid).astype(np.uint8), 1, window=region.window)
        self.code_pixels += np.bincount(codes[valid], minlength=len(self.code_pixels))
        self.nodata_pixels += int(valid.size - valid.sum())

    def close(self) -> WorkingMaps:
        """Close the working GeoTIFFs; what they hold."""
        for dataset in self.files.values():
            dataset.close()
        return WorkingMaps(self.paths, self.code_pixels, self.nodata_pixels)


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
