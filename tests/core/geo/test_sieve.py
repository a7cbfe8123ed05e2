"""The minimum mapping unit: specks merge into their neighbours, block by block, as a whole-raster
sieve would; class maps follow the sieved change types."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.features import sieve
from rasterio.transform import from_origin

from scd_core.geo import sieve as sieving

PROFILE = {"driver": "GTiff", "dtype": "uint8", "count": 1, "crs": "EPSG:32633", "nodata": 255,
           "transform": from_origin(0, 200, 1, 1), "tiled": True, "blockxsize": 64, "blockysize": 64}  # fmt: skip


def write(path, values):
    with rasterio.open(path, "w", **PROFILE, width=values.shape[1], height=values.shape[0]) as dataset:
        dataset.write(values, 1)
    return path


def read(path):
    with rasterio.open(path) as dataset:
        return dataset.read(1)


@pytest.fixture
def speckled():
    codes = np.zeros((200, 200), np.uint8)
    codes[20:90, 30:120] = 17  # low vegetation → building, a big region
    codes[60:62, 63:65] = 5  # a 4-pixel speck inside it, across a 64-pixel block border
    codes[150, 100:103] = 30  # a 3-pixel speck in unchanged land
    codes[120:126, 10:16] = 8  # 36 pixels: above the unit
    codes[:, 190:] = 255  # nodata strip
    return codes


def test_specks_merge_into_their_neighbours_and_nodata_stays(tmp_path, speckled, monkeypatch):
    monkeypatch.setattr(sieving, "SIEVE_BLOCK", 64)  # blocks smaller than the map: halos at work
    source = write(tmp_path / "codes.tif", speckled)
    sieving.sieve_change_types(source, tmp_path / "sieved.tif", mmu=9)
    result = read(tmp_path / "sieved.tif")
    assert (result[60:62, 63:65] == 17).all() and result[150, 100:103].tolist() == [0, 0, 0]
    assert (result[120:126, 10:16] == 8).all() and (result[:, 190:] == 255).all()
    whole = sieve(speckled, 9, mask=speckled != 255, connectivity=4)
    assert np.array_equal(result, whole)


def test_class_maps_are_rewritten_from_the_sieved_change_types(tmp_path, speckled):
    codes = write(tmp_path / "codes.tif", speckled)
    maps = {name: write(tmp_path / f"{name}.tif", np.full_like(speckled, 99)) for name in
            ("before_class", "after_class", "changed_mask")}  # fmt: skip
    counts = sieving.rewrite_class_maps(codes, maps, num_classes=6)
    before, after, changed = (read(maps[name]) for name in ("before_class", "after_class", "changed_mask"))
    assert before[30, 50] == 3 and after[30, 50] == 5  # 17 = 1 + 6·(3-1) + (5-1)
    assert before[0, 0] == after[0, 0] == 0 and before[0, 195] == after[0, 195] == 255
    assert np.array_equal(changed == 1, (speckled > 0) & (speckled != 255))
    assert counts[17] == (speckled == 17).sum() and counts.sum() == (speckled != 255).sum()
