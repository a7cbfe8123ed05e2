"""The series' maps read each pair's change map, a window of the first raster's grid, in place; and
count and date each pixel's changes."""

from __future__ import annotations

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

from scd_core.geo.grid import Grid
from scd_core.series.products import OnGrid, combine

NODATA = 255
ORIGIN = (391440.0, 5820080.0)


def change_map(path, codes, transform):
    profile = {"driver": "GTiff", "dtype": "uint8", "count": 1, "nodata": NODATA, "crs": "EPSG:32633"}
    with rasterio.open(path, "w", **profile, width=codes.shape[1], height=codes.shape[0], transform=transform) as out:
        out.write(codes, 1)
    return path


def test_a_map_on_the_grids_pixels_is_placed_as_it_is_and_nodata_outside(tmp_path):
    grid = Grid("EPSG:32633", Affine(2, 0, ORIGIN[0], 0, -2, ORIGIN[1]), 8, 6)
    codes = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = change_map(tmp_path / "offset.tif", codes, Affine(2, 0, ORIGIN[0] + 6, 0, -2, ORIGIN[1] - 4))
    with rasterio.open(path) as dataset:
        read = OnGrid(dataset, grid).read(Window(0, 0, 8, 6))
    expected = np.full((6, 8), NODATA, np.uint8)
    expected[2:5, 3:7] = codes
    assert np.array_equal(read, expected)


def test_periods_count_and_date_each_pixels_changes(tmp_path):
    grid = Grid("EPSG:32633", Affine(1, 0, ORIGIN[0], 0, -1, ORIGIN[1]), 3, 1)
    maps = []
    for number, row in enumerate(([0, 4, NODATA], [2, 0, NODATA], [3, 5, NODATA])):
        path = change_map(tmp_path / f"{number}.tif", np.array([row], np.uint8), grid.transform)
        maps.append(OnGrid(rasterio.open(path), grid))
    made = combine(maps, Window(0, 0, 3, 1))
    for pair_map in maps:
        pair_map.source.close()
    assert made["change_count"].tolist() == [[2, 2, NODATA]]
    assert made["first_change"].tolist() == [[2, 1, NODATA]]
    assert made["last_change"].tolist() == [[3, 3, NODATA]]
