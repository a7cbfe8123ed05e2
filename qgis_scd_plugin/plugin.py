"""The plugin object QGIS loads: registers the Processing provider, adds the menu and toolbar entries."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsApplication, QgsVectorLayer
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QDialog, QToolBar

from .paths import ICON
from .provider import ScdProvider

MENU = "Semantic change detection"
ALGORITHM_ID = "scd:detectchanges"


class ScdPlugin:
    """Entry point for QGIS (through ``classFactory``) and for qgis_process (``initProcessing`` only)."""

    def __init__(self, iface) -> None:
        self.iface = iface
        self.provider: ScdProvider | None = None
        self.actions: list[QAction] = []
        self.toolbar: QToolBar | None = None
        self.detect_dialog: QDialog | None = None
        self.settings_dialog: QDialog | None = None
        self.aoi_tool: Any = None
        #: The inputs of the last detection dialog closed (see :meth:`_remember_inputs`).
        self.last_inputs: dict[str, Any] = {}

    def initProcessing(self) -> None:
        """Register the provider; qgis_process calls only this, and with no interface."""
        if self.provider is None:
            self.provider = ScdProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        from .aoi_tool import PolygonAoiTool

        self.initProcessing()
        window = self.iface.mainWindow()
        detect = QAction(QIcon(str(ICON)), "Detect semantic changes…", window)
        detect.setObjectName("scdDetectChanges")
        detect.setToolTip("Detect semantic changes: from-to land-cover change polygons between two images")
        detect.triggered.connect(lambda: self.open_detect_dialog())
        draw = QAction(QgsApplication.getThemeIcon("/mActionAddPolygon.svg"), "Draw area of interest", window)
        draw.setObjectName("scdDrawAoi")
        draw.setToolTip(
            "Draw an area of interest to detect changes in: click the corners, right-click to close the polygon"
        )
        draw.setCheckable(True)
        self.aoi_tool = PolygonAoiTool(self.iface.mapCanvas())
        self.aoi_tool.setAction(draw)
        self.aoi_tool.polygon_drawn.connect(self.use_drawn_aoi)
        draw.triggered.connect(self.start_drawing)
        settings = QAction("Settings…", window)
        settings.setToolTip("Choose, check or install the backend that runs the model")
        settings.setObjectName("scdSettings")
        settings.triggered.connect(self.open_settings)
        self.actions = [detect, draw, settings]
        for action in self.actions:
            self.iface.addPluginToRasterMenu(MENU, action)
        self.toolbar = self.iface.addToolBar(MENU)
        self.toolbar.setObjectName("scdToolbar")
        self.toolbar.addAction(detect)
        self.toolbar.addAction(draw)

    def unload(self) -> None:
        if self.aoi_tool is not None:
            self.iface.mapCanvas().unsetMapTool(self.aoi_tool)
            self.aoi_tool.reset()
            self.aoi_tool = None
        for action in self.actions:
            self.iface.removePluginRasterMenu(MENU, action)
            action.deleteLater()
        self.actions = []
        if self.toolbar is not None:
            self.toolbar.deleteLater()
            self.toolbar = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None

    def open_detect_dialog(self, parameters: dict[str, Any] | None = None) -> None:
        """Open the algorithm's Processing dialog (non-modal, like the toolbox opens it), with ``parameters``."""
        import processing  # QGIS's Processing plugin, loaded by the time a menu entry is clicked

        dialog = processing.createAlgorithmDialog(ALGORITHM_ID, parameters or {})
        dialog.rejected.connect(lambda: self._remember_inputs(dialog))  # closed (its `finished` is a method)
        dialog.show()
        self.detect_dialog = dialog

    def _remember_inputs(self, dialog: QDialog) -> None:
        """Keep what the analyst chose in a closing dialog (the images, the model, the options): an AOI
        drawn next opens the dialog again from it, as an analyst who closed the dialog to draw expects.
        Not the AOI, which the drawing replaces, nor the destinations, which belong to one run."""
        definitions = {definition.name(): definition for definition in dialog.algorithm().parameterDefinitions()}
        self.last_inputs = {
            name: wrapper.parameterValue()
            for name, wrapper in dialog.mainWidget().wrappers.items()
            if name in definitions
            and not definitions[name].isDestination()
            and name != "AOI"
            and wrapper.parameterValue() is not None
        }

    def start_drawing(self) -> None:
        """Make the AOI tool the canvas's map tool."""
        self.iface.mapCanvas().setMapTool(self.aoi_tool)

    def use_drawn_aoi(self, layer: QgsVectorLayer) -> None:
        """Hand a freshly drawn AOI to the detection dialog: the open one, else a new one with the inputs
        of the last one closed."""
        dialog = self.detect_dialog
        if dialog is not None and _is_alive(dialog) and dialog.isVisible():
            dialog.setParameters({"AOI": layer.id()})
            dialog.raise_()
        else:
            self.open_detect_dialog({**self.last_inputs, "AOI": layer.id()})

    def open_settings(self) -> None:
        from .backend_dialog import BackendDialog

        dialog = BackendDialog(self.iface.mainWindow())
        dialog.show()
        self.settings_dialog = dialog


def _is_alive(dialog: QDialog) -> bool:
    """False once Qt has deleted the dialog (Processing's dialogs delete themselves when closed)."""
    from qgis.PyQt import sip

    return not sip.isdeleted(dialog)
