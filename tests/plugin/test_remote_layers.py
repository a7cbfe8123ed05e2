"""Raster layers read over HTTP (a COG loaded by its URL, as QGIS's data source manager and STAC
browser load them): the algorithm hands the worker their ``/vsicurl/`` name, not an export, and the
worker's run over a loopback server (tests/core/http_testing.py) gives the local files' change map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import processing
import pytest
from http_testing import RangeServer
from osgeo import gdal
from plugin_testing import RecordingFeedback, detect_parameters
from qgis.core import QgsRasterLayer


@pytest.fixture(scope="module")
def cogs(geo_pair: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic pair as COGs (128² blocks, one overview)."""
    folder = tmp_path_factory.mktemp("cogs")
    for name in ("before.tif", "after.tif"):
        gdal.Translate(str(folder / name), str(geo_pair / name), format="COG", creationOptions=["BLOCKSIZE=128"])
    return folder


def _change_map(path: Path) -> np.ndarray:
    return gdal.Open(str(path)).ReadAsArray()


def test_a_layer_read_over_http_goes_to_the_worker_by_its_url(plugin, cogs, tiny_model, tmp_path):
    from qgis_scd_plugin.inputs import dataset_name

    local = tmp_path / "local.tif"
    processing.run(
        "scd:detectchanges",
        detect_parameters(cogs, tiny_model, OUTPUT=str(tmp_path / "local.gpkg"), OUTPUT_RASTER=str(local)),
    )
    with RangeServer(cogs) as server:
        before = QgsRasterLayer(server.vsicurl("before.tif"), "before", "gdal")
        after = QgsRasterLayer(server.url("after.tif"), "after", "gdal")  # a plain URL, which GDAL reads too
        assert before.isValid() and after.isValid()
        assert dataset_name(before) == server.vsicurl("before.tif")
        assert dataset_name(after) == server.vsicurl("after.tif")
        remote, feedback = tmp_path / "remote.tif", RecordingFeedback()
        parameters = detect_parameters(
            cogs,
            tiny_model,
            BEFORE=before,
            AFTER=after,
            OUTPUT=str(tmp_path / "remote.gpkg"),
            OUTPUT_RASTER=str(remote),
        )
        processing.run("scd:detectchanges", parameters, feedback=feedback)
        assert server.served["before.tif"] > 0 and server.served["after.tif"] > 0
    assert not [info for info in feedback.infos if info.startswith("Exporting")], feedback.infos
    assert np.array_equal(_change_map(remote), _change_map(local))


def test_a_layer_with_qgis_only_options_is_exported(plugin, cogs):
    from qgis_scd_plugin.inputs import dataset_name

    with RangeServer(cogs) as server:
        layer = QgsRasterLayer(f"{server.vsicurl('before.tif')}|credential:GDAL_HTTP_USERPWD=a:b", "before", "gdal")
        assert dataset_name(layer) is None
