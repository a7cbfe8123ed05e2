"""The series' rasters, built window by window from the pairs' ``change_type.tif``.

All three lie on the first raster's grid, clipped to the area the pairs cover. Every pair ran on that
grid's pixels (the ``grid`` option of :class:`~scd_core.geo.options.DetectOptions`: a later date on
other pixels was resampled onto them before the model read it), so each pair's map is a window of it,
read as it is.

==================  =====  ======================================================  ======
file                dtype  values                                                  nodata
==================  =====  ======================================================  ======
change_count.tif    uint8  periods the pixel changed in, 0..P                      255
first_change.tif    uint8  the period it first changed in (1..P), 0 = never       255
last_change.tif     uint8  the period it last changed in (1..P), 0 = never        255
==================  =====  ======================================================  ======

Nodata is where no pair had data. A period's code is its number in date order; the maps' colour
tables run from blue (early) to red (late), and their ``scd_class_names`` tag names each code
(``2023-05-01 → 2023-06-15``), as ``periods.csv`` does. Memory holds one window of each map and one
pair's window at a time, whatever the number of dates or the size of the rasters.
"""

from __future__ import annotations

import colorsys
import json
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import rasterio
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from scd_core.errors import NoOverlapError
from scd_core.geo.grid import Grid, covering_window, pixel_offset
from scd_core.geo.maps import NODATA, Colormap, finish_cog
from scd_core.series.periods import Period

#: The series' rasters, by name.
RASTERS = ("change_count", "first_change", "last_change")
#: Side of the windows the maps are built in.
WINDOW = 1024
_PROFILE = {
    "driver": "GTiff",
    "dtype": "uint8",
    "count": 1,
    "nodata": NODATA,
    "tiled": True,
    "blockxsize": 256,
    "blockysize": 256,
    "compress": "deflate",
    "zlevel": 1,
    "bigtiff": "if_safer",
}
#: "Never" and "no change": a light grey (a GeoTIFF's colour table has no transparency), and nodata.
_NEVER = (230, 230, 230, 255)
_CLEAR = (0, 0, 0, 0)


def series_grid(first: Grid, change_maps: Sequence[Path]) -> Grid:
    """The first raster's grid clipped to the area the pairs' change maps cover together."""
    bounds = []
    for path in change_maps:
        with rasterio.open(path) as change_map:
            bounds.append(transform_bounds(change_map.crs, first.crs, *change_map.bounds, densify_pts=21))
    lefts, bottoms, rights, tops = zip(*bounds, strict=True)
    union = (min(lefts), min(bottoms), max(rights), max(tops))
    window = covering_window(first.transform, first.width, first.height, [union])
    if window is None:
        raise NoOverlapError("the pairs' maps share no ground with the first raster", str(change_maps[0]))
    return first.window(window)


class OnGrid:
    """A pair's change map, which lies on the series grid's pixels, read in windows of the series grid
    (nodata outside it)."""

    def __init__(self, dataset: rasterio.DatasetReader, grid: Grid) -> None:
        same_crs = dataset.crs == rasterio.CRS.from_user_input(grid.crs)
        offset = pixel_offset(grid.transform, dataset.transform) if same_crs else None
        if offset is None:
            raise ValueError(f"{dataset.name} does not lie on the first raster's pixels")
        self.source = dataset
        self.offset = offset

    def read(self, window: Window) -> np.ndarray:
        """The change codes of ``window`` of the series grid."""
        codes = np.full((int(window.height), int(window.width)), NODATA, dtype=np.uint8)
        left, top = int(window.col_off) + self.offset[0], int(window.row_off) + self.offset[1]
        cols = slice(max(left, 0), min(left + int(window.width), self.source.width))
        rows = slice(max(top, 0), min(top + int(window.height), self.source.height))
        if cols.start < cols.stop and rows.start < rows.stop:
            inside = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
            codes[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left] = self.source.read(
                1, window=inside
            )
        return codes


def _windows(grid: Grid) -> Iterator[Window]:
    for row in range(0, grid.height, WINDOW):
        for col in range(0, grid.width, WINDOW):
            yield Window(col, row, min(WINDOW, grid.width - col), min(WINDOW, grid.height - row))


def combine(maps: Sequence[OnGrid], window: Window) -> dict[str, np.ndarray]:
    """The three series maps of ``window`` from the pairs' maps, in period order."""
    shape = (int(window.height), int(window.width))
    count, first, last = (np.zeros(shape, dtype=np.uint8) for _ in RASTERS)
    seen = np.zeros(shape, dtype=bool)
    for number, pair_map in enumerate(maps, start=1):
        codes = pair_map.read(window)
        valid = codes != NODATA
        changed = valid & (codes > 0)
        seen |= valid
        count += changed
        first[changed & (first == 0)] = number
        last[changed] = number
    return {
        name: np.where(seen, values, NODATA).astype(np.uint8)
        for name, values in zip(RASTERS, (count, first, last), strict=True)
    }


def ramp(count: int) -> list[tuple[int, int, int]]:
    """``count`` colours from blue (first) to red (last), for periods in date order."""
    hues = [0.66 * (1 - i / max(count - 1, 1)) for i in range(count)]
    rgb = [colorsys.hls_to_rgb(hue, 0.5, 0.9) for hue in hues]
    return [(round(255 * red), round(255 * green), round(255 * blue)) for red, green, blue in rgb]


def legends(periods: Sequence[Period]) -> dict[str, tuple[Colormap, dict[int, str], str]]:
    """Each raster's colour table, names of its values and band description."""
    colours = ramp(len(periods))
    when: Colormap = {0: _NEVER, NODATA: _CLEAR}
    when.update({p.number: (*colours[p.number - 1], 255) for p in periods})
    named = {0: "never", **{p.number: p.label for p in periods}}
    counted: Colormap = {0: _NEVER, NODATA: _CLEAR}
    heat = ramp(len(periods))[::-1]  # one period: blue … every period: red
    counted.update({n: (*heat[-n], 255) for n in range(1, len(periods) + 1)})
    counts = {0: "no change", **{n: f"{n} period{'s' if n > 1 else ''}" for n in range(1, len(periods) + 1)}}
    return {
        "change_count": (counted, counts, "periods the pixel changed in"),
        "first_change": (when, named, "period the pixel first changed in (0: never)"),
        "last_change": (when, named, "period the pixel last changed in (0: never)"),
    }


def write_rasters(change_maps: Sequence[Path], periods: Sequence[Period], grid: Grid, folder: Path) -> dict[str, Path]:
    """The series' rasters (COGs) from the pairs' change maps (in period order) into ``folder``."""
    working = {name: folder / f".working-{name}.tif" for name in RASTERS}
    profile = {**_PROFILE, "crs": grid.crs, "transform": grid.transform, "width": grid.width, "height": grid.height}
    with ExitStack() as stack:
        maps = [OnGrid(stack.enter_context(rasterio.open(path)), grid) for path in change_maps]
        files = {name: stack.enter_context(rasterio.open(path, "w", **profile)) for name, path in working.items()}
        for window in _windows(grid):
            for name, values in combine(maps, window).items():
                files[name].write(values, 1, window=window)
    finals = {}
    for name, (colours, names, description) in legends(periods).items():
        finals[name] = folder / f"{name}.tif"
        tags = {"scd_class_names": json.dumps(names, ensure_ascii=False)}
        finish_cog(working[name], finals[name], colours, description, tags, categorical=True)
        working[name].unlink()
    return finals
