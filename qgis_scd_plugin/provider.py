"""The Processing provider ``scd``: "Semantic change detection" in the Processing toolbox."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithms.detect_changes import DetectChangesAlgorithm
from .paths import ICON, metadata


class ScdProvider(QgsProcessingProvider):
    """Holds the scd algorithms; outputs are GeoPackages and GeoTIFFs, the formats the styles travel in."""

    def id(self) -> str:
        return "scd"

    def name(self) -> str:
        return "Semantic change detection"

    def longName(self) -> str:
        return f"Semantic change detection (scd {self.versionInfo()})"

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def svgIconPath(self) -> str:
        return str(ICON)

    def versionInfo(self) -> str:
        return metadata("version")

    def loadAlgorithms(self) -> None:
        self.addAlgorithm(DetectChangesAlgorithm())

    def supportedOutputVectorLayerExtensions(self) -> list[str]:
        return ["gpkg"]

    def supportedOutputRasterLayerExtensions(self) -> list[str]:
        return ["tif"]

    def defaultVectorFileExtension(self, hasGeometry: bool = True) -> str:  # noqa: N803 (QGIS's signature)
        return "gpkg"

    def defaultRasterFileExtension(self) -> str:
        return "tif"
