"""Rasters smaller than the minimum mapping unit: 1×1 and 2×2 pairs, and ``--mmu`` above the raster's
size, are sieved as GDAL sieves a larger map (each region merges into its largest neighbour, a region
with none stays) and the run completes."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.features import sieve
from rasterio.transform import from_origin
from rasterio.windows import Window

from scd_core.cli import main
from scd_core.geo import sieve as sieving

PROFILE = {"driver": "GTiff", "dtype": "uint8", "crs": "EPSG:32633", "transform": from_origin(500000, 5000000, 10, 10)}


def write(path, values):
    with rasterio.open(path, "w", **PROFILE, count=values.shape[0], width=values.shape[2],
                       height=values.shape[1], nodata=255 if values.shape[0] == 1 else None) as dataset:  # fmt: skip
        dataset.write(values)
    return path


@pytest.mark.parametrize("mmu", [2, 9, 10_000])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_a_map_no_larger_than_the_unit_is_sieved_as_within_a_larger_map(tmp_path, size, mmu):
    codes = np.array([[5, 5, 17], [8, 17, 17], [255, 17, 3]], np.uint8)[:size, :size]
    source = write(tmp_path / "codes.tif", codes[None])
    window = Window(0, 0, size, size)
    ((row, result),) = sieving.sieved_strips(source, window, window, size, size, mmu)
    inside = np.full((120, 120), 255, np.uint8)  # the same map amid nodata, which GDAL takes
    inside[:size, :size] = codes
    expected = sieve(inside, mmu, mask=inside != 255, connectivity=4)[:size, :size]
    assert row == 0 and np.array_equal(result, expected)


@pytest.mark.parametrize(("size", "mmu"), [(1, 9), (2, 9), (2, 3), (8, 1000)])
def test_detect_runs_on_rasters_no_larger_than_the_unit(tmp_path, ckpt, size, mmu):
    rng = np.random.default_rng(size)
    before = write(tmp_path / "before.tif", rng.integers(0, 256, (3, size, size)).astype(np.uint8))
    after = write(tmp_path / "after.tif", rng.integers(0, 256, (3, size, size)).astype(np.uint8))
    out = tmp_path / "out"
    code = main(["detect", str(before), str(after), "-o", str(out), "--model", str(ckpt), "--progress", "none",
                 "--mmu", str(mmu), "--threshold", "0.01"])  # fmt: skip
    assert code == 0
    with rasterio.open(out / "change_type.tif") as dataset:
        assert dataset.shape == (size, size)
        assert (dataset.read(1) != 255).all()
