"""Inputs GDAL reads through its virtual file systems: a GeoTIFF in a zip (``/vsizip/``) and one in
memory (``/vsimem/``) run to the end and are fingerprinted (they crashed there, in the fingerprint)."""

from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np
import rasterio
from detect_testing import run_scd
from rasterio.io import MemoryFile

import scd_core
from scd_core.geo.rasters import raster_fingerprint
from scd_core.synth import write_geo_pair

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


def test_rasters_in_a_zip_run_and_are_fingerprinted_by_the_zip(tmp_path, ckpt):
    pair = write_geo_pair(tmp_path / "pair", 128, seed=2)
    archive = tmp_path / "dates.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(pair.before, "before.tif")
        zipped.write(pair.after, "after.tif")
    before, after = f"/vsizip/{archive}/before.tif", f"/vsizip/{{{archive}}}/after.tif"  # both forms GDAL takes
    out = tmp_path / "out"
    result = run_scd("detect", before, after, "-o", out, "--model", ckpt, "--tile", "128", "--progress", "none")
    assert result.returncode == 0, result.stderr
    run = json.loads((out / "run.json").read_text())
    zipped_sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert run["request"]["before"] == run["request"]["after"] == zipped_sha
    assert run["inputs"]["before"]["path"] == before and run["inputs"]["before"]["bytes"] == archive.stat().st_size
    plain = scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "plain", **FAST)
    with rasterio.open(out / "change_type.tif") as a, rasterio.open(plain.outputs["change_type"]) as b:
        assert a.transform == b.transform and np.array_equal(a.read(1), b.read(1))


def test_a_raster_in_no_local_file_is_fingerprinted_by_what_gdal_reads(tmp_path, ckpt):
    pair = write_geo_pair(tmp_path / "pair", 128, seed=2)
    with MemoryFile(pair.before.read_bytes()) as before, MemoryFile(pair.after.read_bytes()) as after:
        result = scd_core.detect(before.name, after.name, ckpt, tmp_path / "out", **FAST)
        run = json.loads(result.outputs["run"].read_text())
        assert run["request"]["before"] == raster_fingerprint(before.name) != run["request"]["after"]
        assert run["inputs"]["before"]["bytes"] is None
        with MemoryFile(pair.before.read_bytes()) as same:
            assert raster_fingerprint(same.name) == run["request"]["before"]
    with rasterio.open(pair.before, "r+") as dataset:
        dataset.write(dataset.read(1) ^ 1, 1)
    with MemoryFile(pair.before.read_bytes()) as changed:
        assert raster_fingerprint(changed.name) != run["request"]["before"]
