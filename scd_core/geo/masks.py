"""Masks of the pixels a date must not be read at: clouds, their shadows, haze, snow.

A model reads a cloud as a change. Sentinel-2 Level-2A ships a scene classification layer (SCL) that
marks clouds and shadows, and many workflows make a cloud mask of their own. A date's mask
(``--mask-before``, ``--mask-after``) is any raster GDAL reads, on any grid and CRS: its first band's
non-zero pixels are masked, or with ``--mask-values`` only the pixels of those values (a class mask:
SCL's 3, 8, 9 and 10 are cloud shadow, cloud of medium and of high probability, and cirrus). Where
the mask has no data, or does not reach, nothing is masked: the mask says nothing there.

A masked pixel is made invalid where a date's nodata is (:class:`~scd_core.geo.rasters.WindowReader`
takes the mask), so it is nodata in every output, never a polygon and never counted, and it is left
out of the stretch and the preview too. A mask off BEFORE's grid is warped onto it as AFTER is, onto
the whole overlap, by nearest neighbour (classes stay classes), and read window by window: memory
does not grow with the mask.

:func:`open_date_mask` is one date's mask for a run (``scd detect``, and each date of ``scd series``):
checked, measured over the run's area and refused when it masks all of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
import shapely
from rasterio.enums import Resampling
from rasterio.features import geometry_mask
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from scd_core.errors import InvalidOptionError, NoDataError, NoOverlapError
from scd_core.geo import rasters
from scd_core.geo.grid import BLOCK, Grid, covering_window

#: Side in pixels of the blocks a mask is measured in (:func:`masked_share`).
MEASURE_BLOCK = 4 * BLOCK


def open_mask(path: str, flag: str, values: Sequence[int] | None, overlap: Grid) -> rasterio.DatasetReader:
    """Open the mask of ``flag`` (``--mask-before``...) and check it can mask the run over ``overlap``.

    Raises:
        UnreadableRasterError, MissingCrsError: not a raster GDAL reads, or not placed on the ground.
        InvalidOptionError: ``values`` given for a mask that is not of whole numbers.
        NoOverlapError: the mask shares no ground with the dates' overlap.
    """
    dataset = rasters.open_raster(path, flag)
    try:
        dtype = dataset.dtypes[0]
        if values is not None and not np.issubdtype(np.dtype(dtype), np.integer):
            raise InvalidOptionError(f"--mask-values names classes, but {flag} is {dtype}, not integer", path)
        bounds = transform_bounds(dataset.crs, overlap.crs, *dataset.bounds, densify_pts=21)
        if covering_window(overlap.transform, overlap.width, overlap.height, [bounds]) is None:
            raise NoOverlapError(f"{flag} shares no ground with the area both dates cover", path)
    except BaseException:
        dataset.close()
        raise
    return dataset


class MaskReader:
    """Which pixels of windows of ``grid`` a mask masks (its first band, warped by nearest neighbour
    onto ``warp_grid`` where it lies off ``grid``'s pixels, as :class:`~.rasters.WindowReader` warps).

    Not thread-safe: it belongs to the date reader that holds it.
    """

    def __init__(
        self,
        dataset: rasterio.DatasetReader,
        grid: Grid,
        path: str,
        flag: str,
        values: Sequence[int] | None = None,
        warp_grid: Grid | None = None,
    ) -> None:
        self._reader = rasters.WindowReader(
            dataset, [1], grid, path, flag, warp_grid, resampling=Resampling.nearest, dtype=dataset.dtypes[0]
        )
        self.values = None if values is None else np.asarray(values)
        self.resampled = self._reader.resampled

    def read(self, window: Window, out_shape: tuple[int, int] | None = None) -> np.ndarray:
        """True where ``window``'s pixels are masked (h×w bool): non-zero, or one of the values; never
        where the mask has no data."""
        data, known = self._reader.read(window, out_shape)
        hit = data[0] != 0 if self.values is None else np.isin(data[0], self.values)
        return known & hit

    def close(self) -> None:
        """Close the warped view the reader opened, if any; the dataset is its owner's."""
        self._reader.close()


def masked_share(reader: MaskReader, grid: Grid, aoi: shapely.Geometry | None = None) -> float | None:
    """The share of ``grid``'s pixels (those the AOI touches, when there is one) that ``reader``, a
    reader of ``grid``, masks: exact, read in blocks of :data:`MEASURE_BLOCK` pixels. None when the
    area has no pixel."""
    masked = total = 0
    for row in range(0, grid.height, MEASURE_BLOCK):
        for col in range(0, grid.width, MEASURE_BLOCK):
            window = Window(col, row, min(MEASURE_BLOCK, grid.width - col), min(MEASURE_BLOCK, grid.height - row))
            hit = reader.read(window)
            if aoi is not None:
                inside = geometry_mask([aoi], hit.shape, grid.window(window).transform, all_touched=True, invert=True)
                hit &= inside
                total += int(inside.sum())
            else:
                total += hit.size
            masked += int(hit.sum())
    return masked / total if total else None


@dataclass(frozen=True)
class DateMask:
    """One date's mask as a run uses it: the file, what it masks, and how much of the run's area."""

    path: str
    flag: str
    values: tuple[int, ...] | None
    dataset: rasterio.DatasetReader
    resampled: bool  #: warped onto BEFORE's grid (another CRS, pixel size or origin)
    share: float | None  #: masked share of the run's area; None where not measured (a block of a split run)

    def reader(self, grid: Grid, warp_grid: Grid) -> MaskReader:
        """A reader of windows of ``grid``, a window of ``warp_grid`` (the overlap)."""
        return MaskReader(self.dataset, grid, self.path, self.flag, self.values, warp_grid)

    def record(self, sha256: str | None) -> dict[str, Any]:
        """What run.json says of the mask (``inputs.before.mask``...)."""
        return {
            "path": self.path,
            "sha256": sha256,
            "band": 1,
            "values": None if self.values is None else list(self.values),
            "resampled": self.resampled,
            "masked_share": None if self.share is None else round(self.share, 6),
        }


def open_date_mask(
    stack: ExitStack,
    path: str,
    flag: str,
    values: Sequence[int] | None,
    overlap: Grid,
    area: Window | None,
    aoi: shapely.Geometry | None = None,
) -> DateMask:
    """The mask of ``flag`` for a run over ``overlap``, open until ``stack`` closes; measured over the
    run's ``area`` (a window of the overlap) and the AOI, and refused when it masks every pixel there.
    ``area`` None leaves it unmeasured (a block of a split run, which the whole run measured).

    Raises:
        NoDataError: the mask covers the whole area, so its date would have no pixel to read.
    """
    dataset = stack.enter_context(open_mask(path, flag, values, overlap))
    kept = None if values is None else tuple(int(v) for v in values)
    share = None
    with closing(
        MaskReader(dataset, overlap if area is None else overlap.window(area), path, flag, kept, overlap)
    ) as reader:
        resampled = reader.resampled
        if area is not None:
            share = masked_share(reader, overlap.window(area), aoi)
    if share == 1.0:
        where = "the run's area (its AOI or --bbox)" if aoi is not None else "the area both dates cover"
        raise NoDataError(f"{flag} masks every pixel of {where}: that date has nothing to read", path)
    return DateMask(path, flag, kept, dataset, resampled, share)
