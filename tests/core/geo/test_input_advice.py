"""Refusals give the advice that fixes the input: a raster placed by ground control points or RPCs
only needs warping (not "assign a CRS"), and a one-band raster is not told to pick bands 1,2,3."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from detect_testing import run_scd
from rasterio.control import GroundControlPoint
from rasterio.rpc import RPC

import scd_core
from scd_core.errors import BandMismatchError, MissingCrsError
from scd_core.synth import write_geo_pair

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


def _unplaced(path, **georeferencing):
    profile = {"driver": "GTiff", "width": 64, "height": 64, "count": 3, "dtype": "uint8"}
    with rasterio.open(path, "w", **profile, **georeferencing) as dataset:
        dataset.write(np.full((3, 64, 64), 100, np.uint8))
    return path


def test_a_raster_placed_by_ground_control_points_is_told_to_warp_it(tmp_path):
    corners = [(0, 0), (0, 64), (64, 0), (64, 64)]
    points = [GroundControlPoint(row, col, 500000 + col / 2, 5800000 - row / 2) for row, col in corners]
    before = _unplaced(tmp_path / "gcps.tif", gcps=points, crs="EPSG:32633")
    result = run_scd("detect", before, before, "-o", tmp_path / "out", "--progress", "none")
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert "4 ground control points" in error and "gdalwarp -t_srs EPSG:32633" in error
    assert "assign" not in error and not (tmp_path / "out").exists()


def test_a_raster_placed_by_rpcs_is_told_to_orthorectify_it(tmp_path, ckpt):
    coefficients = [1.0] + [0.0] * 19
    rpcs = RPC(height_off=0, height_scale=100, lat_off=52.5, lat_scale=0.01, line_den_coeff=coefficients,
               line_num_coeff=[0.0, 0.0, -1.0] + [0.0] * 17, line_off=32, line_scale=32, long_off=13.4,
               long_scale=0.01, samp_den_coeff=coefficients, samp_num_coeff=[0.0, 1.0] + [0.0] * 18,
               samp_off=32, samp_scale=32)  # fmt: skip
    before = _unplaced(tmp_path / "rpcs.tif", rpcs=rpcs)
    with pytest.raises(MissingCrsError, match=r"RPCs\) only.*gdalwarp -rpc"):
        scd_core.detect(before, before, ckpt, tmp_path / "out", **FAST)


def test_a_one_band_raster_is_told_the_models_bands_and_that_repeating_it_runs(tmp_path, ckpt):
    pair = write_geo_pair(tmp_path / "pair", 128, seed=3)
    grey = {}
    for role, source in (("before", pair.before), ("after", pair.after)):
        with rasterio.open(source) as dataset:
            profile, band = {**dataset.profile, "count": 1, "photometric": "MINISBLACK"}, dataset.read(1)
        with rasterio.open(tmp_path / f"{role}.tif", "w", **profile) as dataset:
            dataset.write(band, 1)
        grey[role] = tmp_path / f"{role}.tif"
    with pytest.raises(BandMismatchError) as refusal:
        scd_core.detect(grey["before"], grey["after"], ckpt, tmp_path / "out", **FAST)
    message = str(refusal.value)
    assert "has 1 band" in message and "reads 3 (red, green, blue)" in message
    assert "--bands 1,2,3" not in message and "--bands 1,1,1" in message
    result = scd_core.detect(grey["before"], grey["after"], ckpt, tmp_path / "out", bands=[1, 1, 1], **FAST)
    assert result.outputs["change_type"].exists()
