"""The same place gets the same answer whatever the AOI around it: one stretch for both dates,
measured over their whole overlap, the tiles of the whole overlap's plan, and the sieve's blocks of
the whole overlap (the default --mmu is on)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import rasterio
from rasterio import windows

import scd_core
from scd_core.normalise import make_normalisers
from scd_core.synth import write_geo_pair

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


@pytest.fixture(scope="module")
def reflectance(tmp_path_factory):
    """A 288² uint16 (reflectance × 10000) pair: the case the auto stretch is for."""
    return write_geo_pair(tmp_path_factory.mktemp("uint16"), 288, seed=4, dtype="uint16", nodata_collar=12)


@pytest.fixture(scope="module")
def resampled(tmp_path_factory):
    """A pair whose AFTER is at 0.6 m on BEFORE's 0.5 m, warped onto BEFORE's grid: GDAL warps in
    chunks of 512 × 128, so the box's reads start in other chunks than the full run's."""
    return write_geo_pair(tmp_path_factory.mktemp("resampled"), 768, seed=6, after_resolution=0.6)


@pytest.mark.parametrize("pair", ["reflectance", "resampled"])
def test_a_bbox_sub_area_gives_the_pixels_of_the_full_run(tmp_path, pair, ckpt, request):
    reflectance = request.getfixturevalue(pair)
    full = scd_core.detect(reflectance.before, reflectance.after, ckpt, tmp_path / "full", **FAST)
    with rasterio.open(full.outputs["change_type"]) as dataset:
        left, top = dataset.bounds.left, dataset.bounds.top
    # an odd box, not on the tile grid, its corners inside pixels (which it keeps whole): columns
    # 97..203, rows 51..230 (with the 768² pair: 597..703)
    shift = 500 if pair == "resampled" else 0
    box = (left + (97.3 + shift) * 0.5, top - 229.6 * 0.5, left + (202.5 + shift) * 0.5, top - 51.2 * 0.5)
    part = scd_core.detect(
        reflectance.before, reflectance.after, ckpt, tmp_path / "part", bbox=",".join(map(str, box)), **FAST
    )
    window = windows.Window(97 + shift, 51, 106, 179)
    for name in ("change_type", "change_prob", "before_class", "after_class"):
        with rasterio.open(full.outputs[name]) as a, rasterio.open(part.outputs[name]) as b:
            assert b.shape == (int(window.height), int(window.width))
            assert np.array_equal(a.read(1, window=window), b.read(1)), name
    scales = [json.loads(r.outputs["run"].read_text())["options"]["scale"] for r in (full, part)]
    assert scales[0] == scales[1]
    with rasterio.open(full.outputs["change_type"]) as a:
        unsieved = scd_core.detect(reflectance.before, reflectance.after, ckpt, tmp_path / "raw", **FAST, mmu=0)
        with rasterio.open(unsieved.outputs["change_type"]) as b:
            assert (a.read(1, window=window) != b.read(1, window=window)).sum() > 20  # the sieve was at work


def test_an_aoi_polygon_gives_the_full_runs_pixels_inside_it(tmp_path, resampled, ckpt):
    import geopandas
    import shapely
    from rasterio.features import geometry_mask

    full = scd_core.detect(resampled.before, resampled.after, ckpt, tmp_path / "full", **FAST)
    with rasterio.open(full.outputs["change_type"]) as dataset:
        left, top, crs = dataset.bounds.left, dataset.bounds.top, dataset.crs
        whole = dataset.read(1)
    triangle = shapely.Polygon([(left + 150.13, top - 40.3), (left + 330.2, top - 70.4), (left + 200.37, top - 300.1)])
    geopandas.GeoDataFrame(geometry=[triangle], crs=crs).to_file(tmp_path / "aoi.gpkg")
    part = scd_core.detect(resampled.before, resampled.after, ckpt, tmp_path / "part", aoi=tmp_path / "aoi.gpkg",
                           **FAST)  # fmt: skip
    with rasterio.open(part.outputs["change_type"]) as dataset:
        codes, part_transform = dataset.read(1), dataset.transform
    xmin, ymin, xmax, ymax = triangle.bounds  # the pixels it touches: columns 300..660, rows 80..601
    col0, row0 = math.floor((xmin - left) / 0.5), math.floor((top - ymax) / 0.5)
    window = windows.Window(col0, row0, math.ceil((xmax - left) / 0.5) - col0, math.ceil((top - ymin) / 0.5) - row0)
    inside = geometry_mask([triangle], codes.shape, part_transform, all_touched=True, invert=True)
    assert codes.shape == (int(window.height), int(window.width))
    assert np.array_equal(codes[inside], whole[window.toslices()][inside]) and (codes[~inside] == 255).all()


def test_one_stretch_serves_both_dates_unless_asked_per_date():
    normalisation = {"value_range": [0, 255], "mean": [0.0], "std": [255.0]}
    rng = np.random.default_rng(0)
    dark, bright = rng.uniform(0, 1000, (1, 50, 50)), rng.uniform(2000, 3000, (1, 50, 50))
    valid = np.ones((50, 50), bool)
    joint = make_normalisers(normalisation, "auto", ("uint16", "uint16"), [(dark, valid), (bright, valid)])
    apart = make_normalisers(normalisation, "auto-per-date", ("uint16", "uint16"), [(dark, valid), (bright, valid)])
    assert joint[0] is joint[1]
    assert joint[0].raw_low[0] < 100 and joint[0].raw_high[0] > 2900  # both dates' pixels
    assert apart[0].raw_high[0] < 1000 < 2000 < apart[1].raw_low[0]


def test_a_checkpoint_carries_its_own_scaling(tmp_path):
    from detect_testing import tiny_checkpoint

    scaled = tiny_checkpoint(
        tmp_path / "scaled.pt",
        normalisation={"value_range": [0, 255], "mean": [0.0] * 3, "std": [255.0] * 3, "scale": [0, 3000]},
    )
    pair = write_geo_pair(tmp_path / "pair", 128, seed=5, dtype="uint16")
    result = scd_core.detect(pair.before, pair.after, scaled, tmp_path / "out", **FAST)
    scale = json.loads(result.outputs["run"].read_text())["options"]["scale"]
    assert scale == ["bands scaled from [0, 3000], [0, 3000], [0, 3000] to [0, 255]"] * 2
