"""The plugin tests run in Debian's real QGIS, offscreen; this checks that is what we got."""

from qgis.core import Qgis, QgsApplication


def test_qgis_is_at_least_the_minimum_the_plugin_declares(qgis_app):
    major, minor = (int(part) for part in Qgis.QGIS_VERSION.split(".")[:2])
    assert (major, minor) >= (3, 22)


def test_processing_has_gdal_algorithms(qgis_processing):
    registry = QgsApplication.processingRegistry()
    assert registry.algorithmById("gdal:polygonize") is not None
