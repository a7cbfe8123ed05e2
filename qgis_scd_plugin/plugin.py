"""The plugin object QGIS loads: registers the Processing provider, adds the menu and toolbar entries."""

from __future__ import annotations

from qgis.core import QgsApplication
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
        self.dialog: QDialog | None = None

    def initProcessing(self) -> None:
        """Register the provider; qgis_process calls only this, and with no interface."""
        if self.provider is None:
            self.provider = ScdProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        self.initProcessing()
        window = self.iface.mainWindow()
        detect = QAction(QIcon(str(ICON)), "Detect semantic changes…", window)
        detect.setObjectName("scdDetectChanges")
        detect.setToolTip("Detect semantic changes: from-to land-cover change polygons between two images")
        detect.triggered.connect(self.open_detect_dialog)
        settings = QAction("Settings…", window)
        settings.setToolTip("Choose, check or install the backend that runs the model")
        settings.setObjectName("scdSettings")
        settings.triggered.connect(self.open_settings)
        self.actions = [detect, settings]
        for action in self.actions:
            self.iface.addPluginToRasterMenu(MENU, action)
        self.toolbar = self.iface.addToolBar(MENU)
        self.toolbar.setObjectName("scdToolbar")
        self.toolbar.addAction(detect)

    def unload(self) -> None:
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

    def open_detect_dialog(self) -> None:
        """Open the algorithm's Processing dialog (non-modal, like the toolbox opens it)."""
        import processing  # QGIS's Processing plugin, loaded by the time a menu entry is clicked

        dialog = processing.createAlgorithmDialog(ALGORITHM_ID)
        dialog.show()
        self.dialog = dialog

    def open_settings(self) -> None:
        from .backend_dialog import BackendDialog

        dialog = BackendDialog(self.iface.mainWindow())
        dialog.show()
        self.dialog = dialog
