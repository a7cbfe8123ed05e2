"""What the algorithm checks and prepares before the worker starts: a CRS on both images, a backend,
one area, the GDAL names of file layers (sub-layers included, relative names made absolute), and
files for layers that are not files."""

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
    with pytest.raises(QgsProcessingException, match="Area of interest and Extent: give one of them, not both"):
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
    from qgis_scd_plugin.inputs import dataset_name, export_raster, plain_raster_file

    file_layer = QgsRasterLayer(rgb, "rgb")
    assert dataset_name(file_layer) == rgb == plain_raster_file(file_layer)
    virtual = QgsRasterLayer(
        f"?crs=EPSG:32631&extent=500000,4599936,500064,4600000&width=64&height=64&formula=%22rgb@1%22&rgb:uri={rgb}&rgb:provider=gdal",
        "computed",
        "virtualraster",
    )
    assert virtual.isValid() and dataset_name(virtual) is None and plain_raster_file(virtual) is None
    area = virtual.extent()
    area.setXMaximum(500032)
    path = export_raster(
        virtual, area, str(tmp_path / "exported.tif"), QgsProcessingContext(), QgsProcessingFeedback(), "the area"
    )
    exported = QgsRasterLayer(path, "exported")
    assert (exported.width(), exported.height()) == (32, 64)
    assert exported.crs().authid() == "EPSG:32631"
    assert exported.extent().xMinimum() == 500000 and exported.extent().xMaximum() == 500032
    value, found = exported.dataProvider().sample(exported.extent().center(), 1)
    original, _ = file_layer.dataProvider().sample(exported.extent().center(), 1)
    assert found and value == original


@pytest.fixture
def sub_layers(tmp_path, rgb, monkeypatch):
    """A GeoPackage with two raster tables, a NetCDF file, a zip holding a GeoTIFF, and a VRT, in
    ``tmp_path``, which is also the working folder (so that relative names can be tried)."""
    import zipfile

    from osgeo import gdal

    gdal.Translate(str(tmp_path / "dates.gpkg"), rgb, format="GPKG", creationOptions=["RASTER_TABLE=first"])
    gdal.Translate(
        str(tmp_path / "dates.gpkg"),
        rgb,
        format="GPKG",
        creationOptions=["RASTER_TABLE=second", "APPEND_SUBDATASET=YES"],
    )
    gdal.Translate(str(tmp_path / "bands.nc"), rgb, format="netCDF")
    gdal.BuildVRT(str(tmp_path / "mosaic.vrt"), [rgb])
    with zipfile.ZipFile(tmp_path / "archive.zip", "w") as archive:
        archive.write(rgb, "inner/rgb.tif")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("GPKG:{folder}/dates.gpkg:second", "GPKG:{folder}/dates.gpkg:second"),
        ("GPKG:dates.gpkg:second", "GPKG:{folder}/dates.gpkg:second"),
        ('NETCDF:"bands.nc":Band2', 'NETCDF:"{folder}/bands.nc":Band2'),
        ("/vsizip/archive.zip/inner/rgb.tif", "/vsizip/{folder}/archive.zip/inner/rgb.tif"),
        ("mosaic.vrt", "{folder}/mosaic.vrt"),
    ],
)
def test_a_sub_layer_keeps_its_gdal_name_with_its_file_made_absolute(plugin, sub_layers, source, expected):
    from qgis_scd_plugin.inputs import dataset_name

    layer = QgsRasterLayer(source.format(folder=sub_layers), "layer", "gdal")
    assert layer.isValid() and layer.crs().authid() == "EPSG:32631"
    assert dataset_name(layer) == expected.format(folder=sub_layers)


def test_two_raster_tables_of_one_geopackage_are_compared_as_the_tables(plugin, geo_pair, tiny_model, tmp_path):
    """The tables as the dialog hands them over, map layers of the project. Passed as the bare file,
    GDAL would open no table of the GeoPackage, and the worker would say it has no CRS.

    (QGIS 3.22's Processing cannot open a ``GPKG:file:table`` text as a layer, so from qgis_process and
    processing.run a table is given as a layer loaded in the project.)"""
    from osgeo import gdal
    from plugin_testing import RecordingFeedback, detect_parameters
    from qgis.core import QgsProject

    dates = tmp_path / "dates.gpkg"
    gdal.Translate(str(dates), str(geo_pair / "before.tif"), format="GPKG", creationOptions=["RASTER_TABLE=t2019"])
    gdal.Translate(
        str(dates),
        str(geo_pair / "after.tif"),
        format="GPKG",
        creationOptions=["RASTER_TABLE=t2021", "APPEND_SUBDATASET=YES"],
    )
    layers = [QgsRasterLayer(f"GPKG:{dates}:{table}", table, "gdal") for table in ("t2019", "t2021")]
    assert all(layer.isValid() for layer in layers)
    QgsProject.instance().addMapLayers(layers)
    feedback = RecordingFeedback()
    parameters = detect_parameters(geo_pair, tiny_model, OUTPUT=str(tmp_path / "changes.gpkg"))
    parameters.update(BEFORE=layers[0].id(), AFTER=layers[1].id())
    try:
        processing.run("scd:detectchanges", parameters, feedback=feedback)
    finally:
        QgsProject.instance().removeAllMapLayers()
    (command,) = feedback.commands
    assert f"detect GPKG:{dates}:t2019 GPKG:{dates}:t2021 " in command
    assert any(info.startswith("Detecting changes on a 256 × 256 pixel grid") for info in feedback.infos)
