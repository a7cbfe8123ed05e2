"""The minimum mapping unit: specks merge into their neighbours as a whole-raster sieve would, block
by block on the overlap's pixels, so any part of the overlap gets the whole run's pixels; the class
maps follow the sieved change types."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.features import sieve
from rasterio.transform import from_origin
from rasterio.windows import Window

from scd_core.geo import sieve as sieving
from scd_core.geo.grid import Grid, RunWindows
from scd_core.geo.maps import CHANGED_MASK, finish_maps

TRANSFORM = from_origin(0, 200, 1, 1)
PROFILE = {"driver": "GTiff", "dtype": "uint8", "count": 1, "crs": "EPSG:32633", "nodata": 255,
           "tiled": True, "blockxsize": 64, "blockysize": 64}  # fmt: skip


def write(path, values, transform=TRANSFORM):
    with rasterio.open(path, "w", **PROFILE, transform=transform, width=values.shape[1],
                       height=values.shape[0]) as dataset:  # fmt: skip
        dataset.write(values, 1)
    return path


def read(path):
    with rasterio.open(path) as dataset:
        return dataset.read(1)


def sieved(path, maps, output, size, mmu):
    """The sieved codes of ``output`` as one array."""
    result = np.full((int(output.height), int(output.width)), 77, np.uint8)
    for row, codes in sieving.sieved_strips(path, maps, output, *size, mmu):
        result[row : row + codes.shape[0]] = codes
    return result


@pytest.fixture
def small_blocks(monkeypatch):
    """Sieve blocks and halos smaller than the maps, so that they are at work."""
    monkeypatch.setattr(sieving, "SIEVE_BLOCK", 64)
    monkeypatch.setattr(sieving, "MIN_HALO", 12)


@pytest.fixture
def speckled():
    codes = np.zeros((200, 200), np.uint8)
    codes[20:90, 30:120] = 17  # low vegetation → building, a big region
    codes[62:64, 63:65] = 5  # a 4-pixel speck inside it, across a 64-pixel block border
    codes[150, 100:103] = 30  # a 3-pixel speck in unchanged land
    codes[120:126, 10:16] = 8  # 36 pixels: above the unit
    codes[:, 190:] = 255  # nodata strip
    return codes


def test_specks_merge_into_their_neighbours_and_nodata_stays(tmp_path, speckled, small_blocks):
    source = write(tmp_path / "codes.tif", speckled)
    whole_window = Window(0, 0, 200, 200)
    result = sieved(source, whole_window, whole_window, (200, 200), mmu=9)
    assert (result[62:64, 63:65] == 17).all() and result[150, 100:103].tolist() == [0, 0, 0]
    assert (result[120:126, 10:16] == 8).all() and (result[:, 190:] == 255).all()
    assert np.array_equal(result, sieve(speckled, 9, mask=speckled != 255, connectivity=4))
    assert np.array_equal(sieved(source, whole_window, whole_window, (200, 200), mmu=0), speckled)


def test_any_part_of_the_overlap_gets_the_whole_runs_sieved_pixels(tmp_path, small_blocks):
    """A speckled map: the parts, each computed over its context window only, agree with the whole."""
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 4, (40, 40)).repeat(5, axis=0).repeat(5, axis=1)  # 5-pixel blobs
    codes = np.where(rng.random((200, 200)) < 0.05, 9, noise).astype(np.uint8)  # and single pixels
    source = write(tmp_path / "codes.tif", codes)
    whole_window = Window(0, 0, 200, 200)
    whole = sieved(source, whole_window, whole_window, (200, 200), mmu=9)
    assert (whole != codes).sum() > 500  # the sieve did work
    for output in (Window(70, 81, 37, 50), Window(0, 130, 200, 70), Window(129, 0, 1, 1), Window(5, 60, 64, 64)):
        maps = sieving.context_window(output, 200, 200, 9)
        assert Window(0, 0, 200, 200).intersection(maps) == maps
        rows, cols = maps.toslices()
        part_source = write(tmp_path / "part.tif", codes[rows, cols])  # the part's map covers its context only
        out_rows, out_cols = output.toslices()
        assert np.array_equal(sieved(part_source, maps, output, (200, 200), 9), whole[out_rows, out_cols])


def test_the_context_grows_to_whole_blocks_and_the_halo():
    assert sieving.context_window(Window(70, 81, 37, 50), 200, 200, 9) == Window(0, 0, 128 + 64, 200)
    wide = sieving.context_window(Window(300, 700, 10, 10), 2000, 2000, 9)
    block, halo = sieving.SIEVE_BLOCK, sieving.MIN_HALO
    assert wide == Window(256 - halo, 640 - halo, block + 2 * halo, block + 2 * halo)
    assert sieving.context_window(Window(300, 700, 10, 10), 2000, 2000, 0) == Window(300, 700, 10, 10)
    assert sieving.halo(100) == 100


def test_finished_maps_are_cropped_masked_and_follow_the_sieved_change_types(tmp_path, speckled, small_blocks):
    model = {"change_type": write(tmp_path / "codes.tif", speckled),
             "change_prob": write(tmp_path / "prob.tif", np.full_like(speckled, 200))}  # fmt: skip
    output = Window(10, 10, 170, 150)
    grid = Grid("EPSG:32633", rasterio.windows.transform(output, TRANSFORM), 170, 150)
    aoi = shapely.box(10, 200 - 160, 160, 200 - 10)  # x 10..160: the output's columns 0..150
    windows = RunWindows(200, 200, output, Window(0, 0, 200, 200), Window(0, 0, 200, 200))
    maps = finish_maps(model, tmp_path, windows, grid, aoi, num_classes=6, mmu=9)
    change_type, before, after, prob, changed = (read(maps.paths[name]) for name in
                                                 ("change_type", "before_class", "after_class", "change_prob",
                                                  CHANGED_MASK))  # fmt: skip
    whole = sieve(speckled, 9, mask=speckled != 255, connectivity=4)[10:160, 10:180]
    inside = np.zeros(whole.shape, bool)
    inside[:, :150] = True
    assert np.array_equal(change_type, np.where(inside, whole, 255))
    assert before[30, 50] == 3 and after[30, 50] == 5  # 17 = 1 + 6·(3-1) + (5-1)
    assert before[0, 0] == after[0, 0] == 0 and (before[:, 150:] == 255).all()
    assert np.array_equal(prob, np.where(inside, 200, 255))
    assert np.array_equal(changed == 1, inside & (whole > 0) & (whole != 255))
    assert maps.code_pixels[17] == (change_type == 17).sum()
    assert maps.code_pixels.sum() + maps.nodata_pixels == change_type.size
    assert maps.nodata_pixels == (change_type == 255).sum()
