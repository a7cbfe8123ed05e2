"""Draw an area of interest on the map canvas as a polygon, into a temporary layer the algorithm takes
as its AOI.

Processing's dialog can only draw a rectangle (the Extent); a GIS analyst outlines a neighbourhood,
a field or a river bend. Clicks add corners, a right click or Enter closes the polygon, Backspace
takes back the last corner and Esc starts over. Each closed polygon is added to one temporary
(memory) layer, "Area of interest (drawn)", made when the first is drawn and made again if the
analyst removes it; its selected polygons can be used alone with *Selected features only*.
"""

from __future__ import annotations

from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsProject, QgsVectorLayer, QgsWkbTypes
from qgis.gui import QgsMapCanvas, QgsMapMouseEvent, QgsMapTool, QgsRubberBand
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QKeyEvent

AOI_LAYER_NAME = "Area of interest (drawn)"


class PolygonAoiTool(QgsMapTool):
    """A map tool drawing polygons into the AOI layer; ``polygon_drawn`` carries the layer each time one
    is closed."""

    polygon_drawn = pyqtSignal(QgsVectorLayer)

    def __init__(self, canvas: QgsMapCanvas) -> None:
        super().__init__(canvas)
        self.points: list[QgsPointXY] = []
        self.rubber_band = QgsRubberBand(canvas, QgsWkbTypes.PolygonGeometry)
        self.rubber_band.setColor(QColor(255, 140, 0, 200))
        self.rubber_band.setFillColor(QColor(255, 140, 0, 40))
        self.rubber_band.setWidth(2)
        self.layer_id = ""
        self.setCursor(Qt.CrossCursor)

    def canvasReleaseEvent(self, event: QgsMapMouseEvent) -> None:
        if event.button() == Qt.LeftButton:
            self.add_point(event.mapPoint())
        elif event.button() == Qt.RightButton:
            self.finish()

    def canvasMoveEvent(self, event: QgsMapMouseEvent) -> None:
        if self.points:
            self._show([*self.points, event.mapPoint()])

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key_Escape:
            self.reset()
        elif key in (Qt.Key_Backspace, Qt.Key_Delete):
            self.remove_last_point()
        elif key in (Qt.Key_Return, Qt.Key_Enter):
            self.finish()
        else:
            event.ignore()
            return
        event.accept()

    def deactivate(self) -> None:
        self.reset()
        super().deactivate()

    def add_point(self, point: QgsPointXY) -> None:
        """Add a corner (in the canvas's CRS)."""
        self.points.append(QgsPointXY(point))
        self._show(self.points)

    def remove_last_point(self) -> None:
        if self.points:
            self.points.pop()
            self._show(self.points)

    def reset(self) -> None:
        """Forget the polygon being drawn."""
        self.points = []
        self.rubber_band.reset(QgsWkbTypes.PolygonGeometry)

    def finish(self) -> QgsVectorLayer | None:
        """Close the polygon being drawn and add it to the AOI layer, which is returned and sent by
        ``polygon_drawn``; None (and nothing added) with fewer than three corners."""
        if len(self.points) < 3:
            return None
        geometry = QgsGeometry.fromPolygonXY([[*self.points, self.points[0]]])
        if not geometry.isGeosValid():  # a figure of eight becomes its two loops
            geometry = geometry.makeValid()
        layer = self.aoi_layer()
        feature = QgsFeature(layer.fields())
        feature.setGeometry(geometry)
        layer.dataProvider().addFeatures([feature])
        layer.updateExtents()
        layer.triggerRepaint()
        self.reset()
        self.polygon_drawn.emit(layer)
        return layer

    def aoi_layer(self) -> QgsVectorLayer:
        """The temporary layer of drawn AOIs, in the canvas's CRS; made (and added to the project) when
        there is none."""
        project = QgsProject.instance()
        layer = project.mapLayer(self.layer_id) if self.layer_id else None
        if isinstance(layer, QgsVectorLayer):
            return layer
        layer = QgsVectorLayer("Polygon", AOI_LAYER_NAME, "memory")
        layer.setCrs(self.canvas().mapSettings().destinationCrs())
        symbol = layer.renderer().symbol()  # an orange outline only: the imagery inside stays visible
        symbol.symbolLayer(0).setFillColor(QColor(0, 0, 0, 0))
        symbol.symbolLayer(0).setStrokeColor(QColor(255, 140, 0))
        symbol.symbolLayer(0).setStrokeWidth(0.8)
        project.addMapLayer(layer)
        self.layer_id = layer.id()
        return layer

    def _show(self, points: list[QgsPointXY]) -> None:
        self.rubber_band.setToGeometry(QgsGeometry.fromPolygonXY([points]), None)
