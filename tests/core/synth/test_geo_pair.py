"""Georeferenced pairs (:func:`scd_core.synth.write_geo_pair`): the scene on a grid in the world, with
nodata collars, other dtypes and bands, and AFTER on a grid of its own holding the same ground."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import rasterio.warp
from rasterio.warp import Resampling, reproject
from synth_testing import BUILDING, LOW_VEGETATION, WATER, assert_same_scene

from scd_core.labels import IGNORE, change_code
from scd_core.synth import make_scene, write_geo_pair


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        write_geo_pair(tmp_path, 32, dtype="int8")
    with pytest.raises(ValueError, match="bands"):
        write_geo_pair(tmp_path, 32, bands=2)
    with pytest.raises(ValueError, match="nodata_collar"):
        write_geo_pair(tmp_path, 32, nodata_collar=-1)


def read(path):
    with rasterio.open(path) as dataset:
        return dataset.read()


def test_geo_pair_is_the_scene_on_a_georeferenced_grid(tmp_path):
    pair = write_geo_pair(tmp_path, size=(256, 384), seed=4, resolution=0.5, origin=(400000.0, 5800000.0))
    assert_same_scene(pair.scene, make_scene((256, 384), 4))
    for path in (pair.before, pair.after, pair.label1, pair.label2, pair.change_type):
        with rasterio.open(path) as dataset:
            assert dataset.crs == "EPSG:32633"
            assert dataset.transform == rasterio.Affine(0.5, 0, 400000.0, 0, -0.5, 5800000.0)
            assert dataset.shape == (256, 384)
            assert dataset.profile["tiled"] and dataset.compression.name == "deflate"
    with rasterio.open(pair.before) as before:
        assert before.count == 3 and before.dtypes[0] == "uint8" and before.nodata is None
    assert np.array_equal(read(pair.before).transpose(1, 2, 0), pair.scene.image1)
    assert np.array_equal(read(pair.after).transpose(1, 2, 0), pair.scene.image2)
    label1, label2, codes = read(pair.label1)[0], read(pair.label2)[0], read(pair.change_type)[0]
    assert np.array_equal(label1, pair.scene.label1)
    assert np.array_equal(codes, change_code(label1, label2))
    with rasterio.open(pair.label1) as dataset:
        assert dataset.nodata == IGNORE
        assert dataset.colormap(1)[BUILDING] == (128, 0, 0, 255)


def test_default_origin_is_in_europe_and_resolution_half_a_metre(tmp_path):
    pair = write_geo_pair(tmp_path, 64, seed=0, keep_scene=False)
    assert pair.scene is None
    with rasterio.open(pair.before) as before:
        x, y = before.transform.c, before.transform.f
        assert before.res == (0.5, 0.5)
    longitude, latitude = rasterio.warp.transform("EPSG:32633", "EPSG:4326", [x], [y])
    assert 5 < longitude[0] < 25 and 45 < latitude[0] < 60


def test_collar_is_ragged_nodata_and_labels_ignore_it(tmp_path):
    pair = write_geo_pair(tmp_path, 256, seed=1, nodata_collar=16, dtype="uint16", bands=4)
    before, after = read(pair.before), read(pair.after)
    with rasterio.open(pair.before) as dataset:
        assert dataset.nodata == 0 and dataset.count == 4 and dataset.dtypes[0] == "uint16"
    valid1, valid2 = (before != 0).all(axis=0), (after != 0).all(axis=0)
    assert np.array_equal(valid1, (before != 0).any(axis=0))  # nodata in every band alike
    assert not valid1[0].any() and not valid1[:, -1].any() and valid1[128, 128]
    assert 0.05 < (~valid1).mean() < 0.5
    assert not np.array_equal(valid1, valid2)  # each date has its own footprint
    first_valid_column = valid1[64:192].argmax(axis=1)
    assert len(np.unique(first_valid_column)) > 4  # ragged and rotated, not a straight border
    ignored = ~(valid1 & valid2)
    for path in (pair.label1, pair.label2, pair.change_type):
        labels = read(path)[0]
        assert np.array_equal(labels == IGNORE, ignored)
    assert np.array_equal(pair.scene.change_type, read(pair.change_type)[0])
    assert not pair.scene.change_mask[ignored].any()
    assert before[:, valid1].max() <= 5000  # reflectance × 10000
    red, nir = before[0].astype(float), before[3].astype(float)
    vegetation, water = pair.scene.cover1 == LOW_VEGETATION, pair.scene.cover1 == WATER
    assert (nir - red)[vegetation & valid1].mean() > (nir - red)[water & valid1].mean() + 500


def warp_back(pair, band: int = 1) -> np.ndarray:
    """AFTER resampled onto BEFORE's grid."""
    with rasterio.open(pair.before) as before, rasterio.open(pair.after) as after:
        back = np.zeros(before.shape, np.float32)
        reproject(
            rasterio.band(after, band),
            back,
            dst_transform=before.transform,
            dst_crs=before.crs,
            dst_nodata=0,
            resampling=Resampling.bilinear,
        )
    return back


def test_after_on_another_crs_and_resolution_holds_the_same_ground(tmp_path):
    pair = write_geo_pair(tmp_path, 256, seed=2, after_crs="EPSG:4326", after_resolution=7e-6)
    with rasterio.open(pair.before) as before, rasterio.open(pair.after) as after:
        assert after.crs == "EPSG:4326" and after.res == pytest.approx((7e-6, 7e-6))
        assert after.nodata == 0
        left, bottom, right, top = rasterio.warp.transform_bounds(after.crs, before.crs, *after.bounds)
        assert left <= before.bounds.left and right >= before.bounds.right
        assert bottom <= before.bounds.bottom and top >= before.bounds.top
    assert_lands_where_it_was_rendered(pair)


def assert_lands_where_it_was_rendered(pair):
    """AFTER warped back onto BEFORE's grid matches the second image as rendered there, to well under
    a pixel: it matches far worse one pixel off."""
    back, truth = warp_back(pair), pair.scene.image2[..., 0].astype(np.float32)
    inner = (slice(8, -8), slice(8, -8))
    assert (back[inner] > 0).all()  # AFTER covers BEFORE's whole footprint
    error = np.abs(back[inner] - truth[inner]).mean()
    error_one_pixel_off = np.abs(back[inner] - np.roll(truth, (1, 1), axis=(0, 1))[inner]).mean()
    assert error < 4 and error < 0.6 * error_one_pixel_off


def test_after_shift_moves_the_grid_not_the_ground(tmp_path):
    pair = write_geo_pair(tmp_path, 128, seed=3, after_shift=(0.25, -0.3))
    with rasterio.open(pair.before) as before, rasterio.open(pair.after) as after:
        assert after.crs == before.crs and after.res == before.res
        assert (after.transform.c - before.transform.c) % 0.5 == pytest.approx(0.25)
        assert (after.transform.f - before.transform.f) % 0.5 == pytest.approx(0.2)
    assert_lands_where_it_was_rendered(pair)


def test_after_at_another_resolution_on_the_same_crs(tmp_path):
    pair = write_geo_pair(tmp_path, 128, seed=5, after_resolution=0.7)
    with rasterio.open(pair.before) as before, rasterio.open(pair.after) as after:
        assert after.crs == before.crs and after.res == (0.7, 0.7)
        assert after.shape == (92, 92)  # 64 m covered by 0.7 m pixels
        assert (after.transform.c, after.transform.f) == (before.transform.c, before.transform.f)
    assert_lands_where_it_was_rendered(pair)


def test_geographic_crs_works_in_degrees(tmp_path):
    pair = write_geo_pair(tmp_path, (64, 96), seed=0, crs="EPSG:4326", dtype="float32", after_crs="EPSG:32633")
    with rasterio.open(pair.before) as before:
        assert before.crs == "EPSG:4326" and before.shape == (64, 96)
        assert before.res[0] == pytest.approx(0.5 / 111_320)
        assert 13 < before.transform.c < 14 and 52 < before.transform.f < 53
        assert 0 < before.read().max() <= 0.5  # reflectance
    with rasterio.open(pair.after) as after:
        assert after.crs == "EPSG:32633" and after.dtypes[0] == "float32"
