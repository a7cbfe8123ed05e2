"""The mask parameters of ``scd:detectchanges`` reach the engine: a mask layer's pixels are nodata in
the change map and in no polygon, and mask values without a mask are refused before the run."""

from __future__ import annotations

import processing
import pytest
from osgeo import gdal
from plugin_testing import detect_parameters, scene_classification
from qgis.core import (
    QgsApplication,
    QgsGeometry,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
)


def test_a_mask_layers_pixels_are_nodata_and_in_no_polygon(plugin, geo_pair, tiny_model, tmp_path):
    path, cloud = scene_classification(geo_pair, tmp_path / "scl.tif")
    layer = QgsRasterLayer(str(path), "scene classification")
    QgsProject.instance().addMapLayer(layer)
    output, codes = tmp_path / "changes.gpkg", tmp_path / "codes.tif"
    try:
        processing.run(
            "scd:detectchanges",
            detect_parameters(
                geo_pair,
                tiny_model,
                MASK_AFTER=layer.id(),
                MASK_VALUES="3,8,9,10",
                OUTPUT=str(output),
                OUTPUT_RASTER=str(codes),
            ),
        )
    finally:
        QgsProject.instance().clear()
    written = gdal.Open(str(codes))  # held while its band is read: a band outliving its dataset crashes
    values = written.GetRasterBand(1).ReadAsArray()
    assert (values[64:128, 64:128] == 255).all(), "the cloud is nodata"
    assert (values[160:200, 20:60] != 255).all() and (values[:64] != 255).all(), "other classes are read"
    polygons = QgsVectorLayer(f"{output}|layername=changes", "changes", "ogr")
    assert polygons.featureCount() > 0
    hole = QgsGeometry.fromRect(cloud)
    assert all(feature.geometry().intersection(hole).area() < 1e-6 for feature in polygons.getFeatures())


def test_mask_values_without_a_mask_are_refused_before_the_run(plugin, geo_pair, tiny_model, tmp_path):
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:detectchanges")
    parameters = detect_parameters(geo_pair, tiny_model, MASK_VALUES="3,8", OUTPUT=str(tmp_path / "c.gpkg"))
    accepted, message = algorithm.checkParameterValues(parameters, QgsProcessingContext())
    assert not accepted
    assert message.startswith("Mask values: they say which values of a mask to mask; choose Mask of the before image")


@pytest.mark.parametrize("typed", ["3,x", "cloud"])
def test_mask_values_that_are_no_whole_numbers_are_refused(plugin, geo_pair, tiny_model, tmp_path, typed):
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:detectchanges")
    parameters = detect_parameters(
        geo_pair,
        tiny_model,
        MASK_AFTER=str(geo_pair / "before.tif"),
        MASK_VALUES=typed,
        OUTPUT=str(tmp_path / "c.gpkg"),
    )
    accepted, message = algorithm.checkParameterValues(parameters, QgsProcessingContext())
    assert not accepted and message.startswith("Mask values: ") and "whole numbers" in message


def test_the_engines_refusal_of_a_mask_names_the_parameter(plugin, geo_pair, tiny_model, tmp_path):
    far, _ = scene_classification(geo_pair, tmp_path / "far.tif", shift=100_000.0)
    output = tmp_path / "changes.gpkg"
    with pytest.raises(QgsProcessingException) as error:
        processing.run(
            "scd:detectchanges", detect_parameters(geo_pair, tiny_model, MASK_BEFORE=str(far), OUTPUT=str(output))
        )
    assert "Mask of the before image shares no ground with the area both dates cover" in str(error.value)
    assert str(far) in str(error.value) and not output.exists()
