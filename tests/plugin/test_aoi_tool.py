"""The polygon AOI map tool, driven as an analyst drives it: mouse events on a real (offscreen) map
canvas, keys, and the temporary layer it draws into, which the algorithm then takes as its AOI."""

from __future__ import annotations

import processing
import pytest
from plugin_testing import TEST_CRS, detect_parameters
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsPointXY,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.gui import QgsMapCanvas, QgsMapMouseEvent, QgsMapTool
from qgis.PyQt.QtCore import QEvent, QPoint, Qt
from qgis.PyQt.QtGui import QKeyEvent
from qgis.PyQt.QtWidgets import QApplication, QToolBar

#: Corners of a triangle in the canvas's pixels.
TRIANGLE = [QPoint(40, 40), QPoint(160, 40), QPoint(40, 160)]


@pytest.fixture
def canvas(geo_pair):
    """A 200 × 200 pixel canvas showing the synthetic pair's footprint in its CRS."""
    canvas = QgsMapCanvas()
    canvas.resize(200, 200)
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem(TEST_CRS))
    canvas.setExtent(QgsRasterLayer(str(geo_pair / "before.tif"), "before").extent())
    canvas.show()
    QApplication.processEvents()
    yield canvas
    QgsProject.instance().removeAllMapLayers()
    canvas.close()


def click(tool: QgsMapTool, canvas: QgsMapCanvas, point: QPoint, button=Qt.LeftButton) -> None:
    tool.canvasReleaseEvent(QgsMapMouseEvent(canvas, QEvent.MouseButtonRelease, point, button))


def press(tool: QgsMapTool, key) -> None:
    tool.keyPressEvent(QKeyEvent(QEvent.KeyPress, key, Qt.NoModifier))


def on_map(canvas: QgsMapCanvas, point: QPoint) -> QgsPointXY:
    return canvas.getCoordinateTransform().toMapCoordinates(point.x(), point.y())


def test_clicks_draw_a_polygon_into_a_temporary_layer(plugin, canvas):
    from qgis_scd_plugin.aoi_tool import AOI_LAYER_NAME, PolygonAoiTool

    tool = PolygonAoiTool(canvas)
    canvas.setMapTool(tool)
    drawn = []
    tool.polygon_drawn.connect(drawn.append)
    for point in TRIANGLE:
        click(tool, canvas, point)
    click(tool, canvas, QPoint(150, 150))
    press(tool, Qt.Key_Backspace)  # that last corner was a slip
    assert tool.rubber_band.numberOfVertices() > 0, "the polygon being drawn is shown"
    click(tool, canvas, QPoint(100, 100), Qt.RightButton)  # closes the polygon

    (layer,) = drawn
    assert layer.name() == AOI_LAYER_NAME and layer.providerType() == "memory"
    assert QgsProject.instance().mapLayer(layer.id()) is layer
    assert layer.crs().authid() == TEST_CRS and layer.geometryType() == QgsWkbTypes.PolygonGeometry
    (feature,) = layer.getFeatures()
    ring = feature.geometry().asPolygon()[0]
    assert ring == [*(on_map(canvas, point) for point in TRIANGLE), on_map(canvas, TRIANGLE[0])]
    assert tool.points == [] and tool.rubber_band.numberOfVertices() == 0, "ready for the next polygon"

    for point in TRIANGLE:
        click(tool, canvas, QPoint(point.x() + 20, point.y() + 20))
    press(tool, Qt.Key_Return)
    assert drawn == [layer, layer] and layer.featureCount() == 2, "more polygons go into the same layer"


def test_escape_and_too_few_corners_draw_nothing(plugin, canvas):
    from qgis_scd_plugin.aoi_tool import PolygonAoiTool

    tool = PolygonAoiTool(canvas)
    drawn = []
    tool.polygon_drawn.connect(drawn.append)
    for point in TRIANGLE:
        click(tool, canvas, point)
    press(tool, Qt.Key_Escape)
    click(tool, canvas, QPoint(10, 10))
    click(tool, canvas, QPoint(20, 10))
    click(tool, canvas, QPoint(20, 20), Qt.RightButton)
    assert drawn == [] and tool.finish() is None
    assert QgsProject.instance().mapLayers() == {}


def test_the_algorithm_detects_changes_inside_the_drawn_polygon(plugin, canvas, geo_pair, tiny_model, tmp_path):
    from qgis_scd_plugin.aoi_tool import PolygonAoiTool

    tool = PolygonAoiTool(canvas)
    for point in TRIANGLE:
        click(tool, canvas, point)
    layer = tool.finish()
    (feature,) = layer.getFeatures()
    triangle = feature.geometry()
    output = tmp_path / "changes.gpkg"
    processing.run("scd:detectchanges", detect_parameters(geo_pair, tiny_model, AOI=layer.id(), OUTPUT=str(output)))
    changes = QgsVectorLayer(str(output), "changes", "ogr")
    assert changes.featureCount() > 0
    pixel = QgsRasterLayer(str(geo_pair / "before.tif"), "before").rasterUnitsPerPixelX()
    allowed = triangle.buffer(pixel * 1.5, 4)  # polygons follow pixel edges
    assert all(allowed.contains(change.geometry()) for change in changes.getFeatures())
    full = QgsRectangle(QgsRasterLayer(str(geo_pair / "before.tif"), "before").extent())
    assert changes.extent().width() < 0.75 * full.width(), "the AOI limits the run"


def test_the_toolbar_button_draws_and_opens_the_dialog_with_the_aoi(plugin, qgis_iface, qgis_canvas, monkeypatch):
    from qgis.gui import QgsBrowserGuiModel

    browser = QgsBrowserGuiModel()  # pytest-qgis's main window has none; Processing's dialog reads it
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: browser, raising=False)
    qgis_canvas.setDestinationCrs(QgsCoordinateReferenceSystem(TEST_CRS))
    qgis_canvas.setExtent(QgsRectangle(500000, 4599800, 500200, 4600000))
    toolbar = qgis_iface.mainWindow().findChild(QToolBar, "scdToolbar")
    draw = next(action for action in toolbar.actions() if action.objectName() == "scdDrawAoi")
    try:
        draw.trigger()
        tool = qgis_canvas.mapTool()
        assert tool is plugin.aoi_tool and draw.isChecked()
        for point in TRIANGLE:
            click(tool, qgis_canvas, point)
        press(tool, Qt.Key_Enter)
        dialog = plugin.detect_dialog
        assert dialog.isVisible()
        (layer,) = QgsProject.instance().mapLayers().values()
        assert dialog.mainWidget().wrappers["AOI"].parameterValue() == layer.id(), "the dialog takes the drawn AOI"
        assert layer.featureCount() == 1
        dialog.close()
    finally:
        qgis_canvas.unsetMapTool(plugin.aoi_tool)
        QgsProject.instance().removeAllMapLayers()


@pytest.fixture
def dialog_window(qgis_iface, qgis_canvas, monkeypatch):
    """The main window's canvas over the synthetic pair, with what Processing's dialog reads from it."""
    from qgis.gui import QgsBrowserGuiModel

    browser = QgsBrowserGuiModel()  # pytest-qgis's main window has none; Processing's dialog reads it
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: browser, raising=False)
    qgis_canvas.setDestinationCrs(QgsCoordinateReferenceSystem(TEST_CRS))
    qgis_canvas.setExtent(QgsRectangle(500000, 4599800, 500200, 4600000))
    yield qgis_canvas
    qgis_canvas.unsetMapTool(qgis_canvas.mapTool())
    QgsProject.instance().removeAllMapLayers()


def chosen_images(dialog) -> tuple:
    wrappers = dialog.mainWidget().wrappers
    return wrappers["BEFORE"].parameterValue(), wrappers["AFTER"].parameterValue()


def add_rasters(geo_pair, *names: str) -> list:
    """Raster layers added one by one, as an analyst drags them in: each goes on top of the layer tree."""
    files = [geo_pair / "before.tif", geo_pair / "after.tif"]
    layers = [QgsRasterLayer(str(files[index % 2]), name) for index, name in enumerate(names)]
    for layer in layers:
        QgsProject.instance().addMapLayer(layer)
    return layers


def test_the_dialog_offers_two_different_images_or_none(plugin, geo_pair, dialog_window):
    """QGIS's own default is the first raster layer as both Before and After."""
    (only,) = add_rasters(geo_pair, "ortho 2019")
    plugin.open_detect_dialog()
    assert chosen_images(plugin.detect_dialog) == (only.id(), None)
    plugin.detect_dialog.close()
    newer, newest = add_rasters(geo_pair, "ortho 2021", "ortho 2023")  # each added on top of the layer tree
    plugin.open_detect_dialog()
    assert chosen_images(plugin.detect_dialog) == (newer.id(), newest.id())
    plugin.detect_dialog.close()


def test_an_aoi_drawn_after_the_dialog_was_closed_keeps_the_images_chosen_in_it(plugin, geo_pair, dialog_window):
    first, second, _ = add_rasters(geo_pair, "ortho 2019", "ortho 2021", "ortho 2023")
    plugin.open_detect_dialog()
    plugin.detect_dialog.setParameters({"BEFORE": first.id(), "AFTER": second.id(), "MMU": 4})
    plugin.detect_dialog.close()  # to draw on the map
    plugin.start_drawing()
    for point in TRIANGLE:
        click(plugin.aoi_tool, dialog_window, point)
    press(plugin.aoi_tool, Qt.Key_Enter)
    dialog = plugin.detect_dialog
    assert dialog.isVisible() and chosen_images(dialog) == (first.id(), second.id())
    assert dialog.mainWidget().wrappers["MMU"].parameterValue() == 4
    aoi = QgsProject.instance().mapLayersByName("Area of interest (drawn)")[0]
    assert dialog.mainWidget().wrappers["AOI"].parameterValue() == aoi.id()
    for point in TRIANGLE:  # a second polygon while the dialog is open changes nothing else
        click(plugin.aoi_tool, dialog_window, QPoint(point.x() + 10, point.y() + 10))
    press(plugin.aoi_tool, Qt.Key_Enter)
    assert plugin.detect_dialog is dialog and chosen_images(dialog) == (first.id(), second.id())
    dialog.close()
