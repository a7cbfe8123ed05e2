"""What the algorithm checks and prepares before the worker starts: a CRS on both images, a backend,
one area, and files for layers that are not files."""

from __future__ import annotations

import numpy as np
import processing
import pytest
from plugin_testing import write_raster
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback, QgsRasterLayer


@pytest.fixture
def rgb(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 255, (3, 64, 64), dtype=np.uint8)
    return str(write_raster(tmp_path / "rgb.tif", pixels))


def test_a_raster_without_a_crs_is_refused_with_a_clear_message(plugin, tmp_path, rgb):
    no_crs = write_raster(tmp_path / "scan.tif", np.zeros((3, 64, 64), dtype=np.uint8), crs=None)
    output = tmp_path / "changes.gpkg"
    with pytest.raises(QgsProcessingException) as error:
        processing.run("scd:detectchanges", {"BEFORE": str(no_crs), "AFTER": rgb, "MODEL": rgb, "OUTPUT": str(output)})
    message = str(error.value)
    assert "before raster 'scan'" in message and "has no coordinate reference system" in message
    assert "Assign Projection" in message
    assert not output.exists()


def test_without_a_backend_the_algorithm_says_how_to_set_one_up(plugin, tmp_path, rgb, monkeypatch):
    monkeypatch.delenv("SCD_PYTHON", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(QgsProcessingException, match=r"(?s)No scd backend found.*Install backend"):
        processing.run(
            "scd:detectchanges", {"BEFORE": rgb, "AFTER": rgb, "MODEL": rgb, "OUTPUT": str(tmp_path / "c.gpkg")}
        )


def test_an_area_of_interest_and_an_extent_together_are_refused(plugin, tmp_path, rgb):
    layer = processing.run(
        "native:extenttolayer", {"INPUT": "500000,500032,4599968,4600000 [EPSG:32631]", "OUTPUT": "memory:"}
    )["OUTPUT"]
    with pytest.raises(QgsProcessingException, match="not both"):
        processing.run(
            "scd:detectchanges",
            {
                "BEFORE": rgb,
                "AFTER": rgb,
                "MODEL": rgb,
                "AOI": layer,
                "EXTENT": "500000,500032,4599968,4600000 [EPSG:32631]",
                "OUTPUT": str(tmp_path / "c.gpkg"),
            },
        )


def test_a_raster_that_is_not_a_file_is_exported_over_the_area(plugin, tmp_path, rgb):
    from qgis_scd_plugin.inputs import export_raster, local_file

    file_layer = QgsRasterLayer(rgb, "rgb")
    assert local_file(file_layer) == rgb
    virtual = QgsRasterLayer(
        f"?crs=EPSG:32631&extent=500000,4599936,500064,4600000&width=64&height=64&formula=%22rgb@1%22&rgb:uri={rgb}&rgb:provider=gdal",
        "computed",
        "virtualraster",
    )
    assert virtual.isValid() and local_file(virtual) is None
    area = virtual.extent()
    area.setXMaximum(500032)
    path = export_raster(virtual, area, str(tmp_path / "exported.tif"), QgsProcessingContext(), QgsProcessingFeedback())
    exported = QgsRasterLayer(path, "exported")
    assert (exported.width(), exported.height()) == (32, 64)
    assert exported.crs().authid() == "EPSG:32631"
    assert exported.extent().xMinimum() == 500000 and exported.extent().xMaximum() == 500032
    value, found = exported.dataProvider().sample(exported.extent().center(), 1)
    original, _ = file_layer.dataProvider().sample(exported.extent().center(), 1)
    assert found and value == original
