"""The API's ``grid`` option: a run's outputs on another raster's pixels (``scd series`` runs every pair
on its first date's grid); on BEFORE's own grid it changes no pixel."""

from __future__ import annotations

import numpy as np
import rasterio
from affine import Affine

from scd_core import detect
from scd_core.geo.grid import Grid


def read(path):
    with rasterio.open(path) as dataset:
        return dataset.read(1), dataset.transform, dataset.crs.to_string()


def test_befores_own_grid_changes_no_pixel_and_another_grid_is_the_outputs(collared, ckpt, tmp_path):
    with rasterio.open(collared.before) as before:
        own = Grid(before.crs.to_string(), before.transform, before.width, before.height)
    options = {"tile": 128, "device": "cpu", "progress": None}
    detect(collared.before, collared.after, ckpt, tmp_path / "plain", **options)
    detect(collared.before, collared.after, ckpt, tmp_path / "own", grid=own, **options)
    for name in ("change_type.tif", "change_prob.tif"):
        assert np.array_equal(read(tmp_path / "plain" / name)[0], read(tmp_path / "own" / name)[0]), name
    shifted = Grid(own.crs, own.transform * Affine.translation(0.5, 0.5), own.width, own.height)
    detect(collared.before, collared.after, ckpt, tmp_path / "shifted", grid=shifted, **options)
    _, transform, crs = read(tmp_path / "shifted" / "change_type.tif")
    assert crs == own.crs and (transform.c - shifted.transform.c) % transform.a == 0
    assert (transform.f - shifted.transform.f) % transform.e == 0
