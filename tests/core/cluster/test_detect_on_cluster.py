"""``scd detect --cluster``: one pair cut into blocks on Dask workers gives the one-process run's
outputs, byte for byte, an AOI included; a region across block borders is one polygon."""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from detect_testing import tiny_checkpoint

import scd_core
from scd_core.cluster.blocks import block_windows, detect_on_cluster
from scd_core.errors import InvalidOptionError
from scd_core.geo.grid import Grid
from scd_core.resources import DEMO_MODEL
from scd_core.synth import write_geo_pair

#: A low threshold, so that the untrained model draws regions of every size, many across blocks.
OPTIONS = {"tile": 128, "overlap": 32, "device": "cpu", "threshold": 0.3}
RASTERS = ("change_type", "before_class", "after_class", "change_prob")


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as connected:  # fmt: skip
        yield connected


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("split")
    return write_geo_pair(root / "pair", 640, seed=12, nodata_collar=25), tiny_checkpoint(root / "tiny.pt", seed=12)


def test_blocks_cover_the_grid_once():
    windows = block_windows(Grid("EPSG:32633", rasterio.Affine.identity(), 600, 530), 256)
    assert sum(w.width * w.height for w in windows) == 600 * 530 and len(windows) == 9


@pytest.mark.parametrize("area", [{}, {"bbox": "391480,5819830,391700,5820020"}])
def test_a_split_run_gives_the_one_process_outputs(client, pair, tmp_path, area):
    (images, model), options = pair, {**OPTIONS, **area}
    one = scd_core.detect(images.before, images.after, model, tmp_path / "one", **options)
    split = detect_on_cluster(client, images.before, images.after, model, tmp_path / "split", block_size=256,
                              **options)  # fmt: skip
    for name in RASTERS:
        assert one.outputs[name].read_bytes() == split.outputs[name].read_bytes(), name
    assert one.outputs["summary"].read_bytes() == split.outputs["summary"].read_bytes()
    frames = [pyogrio.read_dataframe(r.outputs["changes"]) for r in (one, split)]
    assert frames[0].equals(frames[1])
    assert {k: v for k, v in one.counts.items() if k != "tiles"} == {
        k: v for k, v in split.counts.items() if k != "tiles"
    }
    if not area:  # regions that cross a block border are one polygon each, as in one process
        with rasterio.open(split.outputs["change_type"]) as dataset:
            left, top = dataset.bounds.left, dataset.bounds.top
        border = shapely.LineString([(left + 256 * 0.5, top), (left + 256 * 0.5, top - 640 * 0.5)])
        assert frames[1].geometry.crosses(border).any()


def test_a_block_size_off_the_grids_blocks_is_refused(client, pair, tmp_path):
    images, model = pair
    with pytest.raises(InvalidOptionError, match="--block-size"):
        detect_on_cluster(client, images.before, images.after, model, tmp_path / "x", block_size=300, **OPTIONS)


def test_a_resampled_after_reads_the_same_in_every_block(client, tmp_path):
    """AFTER at 0.6 m is warped onto BEFORE's 0.5 m grid. GDAL warps in chunks of the virtual raster's
    blocks and a pixel's value depends slightly on its chunk, so a block that warped only its own
    window gave the demo model's probabilities one step off at 159 pixels of the 1024² demo sample."""
    images = write_geo_pair(tmp_path / "pair", 1024, seed=2026, after_resolution=0.6)
    one = scd_core.detect(images.before, images.after, DEMO_MODEL, tmp_path / "one", device="cpu")
    split = detect_on_cluster(client, images.before, images.after, DEMO_MODEL, tmp_path / "split", block_size=512,
                              device="cpu")  # fmt: skip
    for name in RASTERS:
        assert one.outputs[name].read_bytes() == split.outputs[name].read_bytes(), name


def test_a_mask_off_befores_grid_reads_the_same_in_every_block(client, pair, tmp_path):
    """Each block of a split run opens the mask and reads it warped onto the whole overlap, as AFTER."""
    images, model = pair
    with rasterio.open(images.before) as before:
        left, top = before.bounds.left, before.bounds.top
    clouds = np.zeros((260, 260), np.uint8)
    clouds[40:120, 30:200], clouds[150:230, 100:140] = 1, 1  # across the blocks' borders
    profile = {"driver": "GTiff", "width": 260, "height": 260, "count": 1, "dtype": "uint8", "crs": "EPSG:32633",
               "transform": rasterio.transform.from_origin(left + 0.3, top - 0.2, 1.3, 1.3)}  # fmt: skip
    with rasterio.open(tmp_path / "clouds.tif", "w", **profile) as mask:
        mask.write(clouds, 1)
    options = {**OPTIONS, "mask_after": str(tmp_path / "clouds.tif")}
    one = scd_core.detect(images.before, images.after, model, tmp_path / "one", **options)
    split = detect_on_cluster(client, images.before, images.after, model, tmp_path / "split", block_size=256,
                              **options)  # fmt: skip
    for name in RASTERS:
        assert one.outputs[name].read_bytes() == split.outputs[name].read_bytes(), name
    with rasterio.open(split.outputs["change_type"]) as dataset:
        assert (dataset.read(1)[106:310, 80:518] == 255).all()  # inside the first cloud (1.3 m cells on 0.5 m)
    masks = [json.loads(r.outputs["run"].read_text())["inputs"]["after"]["mask"] for r in (one, split)]
    assert masks[0] == masks[1] and masks[1]["masked_share"] > 0.2 and masks[1]["resampled"]
