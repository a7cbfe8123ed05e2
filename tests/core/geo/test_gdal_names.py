"""Inputs named the way GDAL names datasets that are not plain files: a GeoPackage raster table."""

from __future__ import annotations

import json

import numpy as np
import rasterio
from rasterio.shutil import copy as copy_raster

import scd_core
from scd_core.synth import write_geo_pair

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


def test_a_geopackage_raster_table_runs_and_is_fingerprinted_by_its_file(tmp_path, ckpt):
    pair = write_geo_pair(tmp_path / "pair", 256, seed=2)
    gpkg = tmp_path / "dates.gpkg"
    lossless = {"driver": "GPKG", "TILE_FORMAT": "PNG"}
    copy_raster(pair.before, gpkg, RASTER_TABLE="BEFORE", **lossless)
    copy_raster(pair.after, gpkg, RASTER_TABLE="AFTER", APPEND_SUBDATASET="YES", **lossless)
    before, after = f"GPKG:{gpkg}:BEFORE", f"GPKG:{gpkg}:AFTER"  # rasterio upper-cases option values
    result = scd_core.detect(before, after, ckpt, tmp_path / "out", **FAST)
    plain = scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "plain", **FAST)
    run = json.loads(result.outputs["run"].read_text())
    assert run["inputs"]["before"]["path"] == before and run["inputs"]["after"]["path"] == after
    assert run["inputs"]["before"]["bytes"] == gpkg.stat().st_size
    with rasterio.open(result.outputs["change_type"]) as a, rasterio.open(plain.outputs["change_type"]) as b:
        assert a.transform == b.transform and np.array_equal(a.read(1), b.read(1))
