"""The Processing provider ``scd``: "Semantic change detection" in the Processing toolbox."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingDestinationParameter,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterDestination,
    QgsProcessingProvider,
)
from qgis.PyQt.QtGui import QIcon

from .algorithms.accuracy_sample import AccuracySampleAlgorithm
from .algorithms.detect_changes import DetectChangesAlgorithm
from .algorithms.detect_series import DetectSeriesAlgorithm
from .algorithms.estimate_areas import EstimateAreasAlgorithm
from .algorithms.score_changes import ScoreChangesAlgorithm
from .algorithms.train_model import TrainModelAlgorithm
from .algorithms.zone_statistics import ZoneStatisticsAlgorithm
from .outputs import RASTER_EXTENSIONS, TABLE_EXTENSIONS, VECTOR_EXTENSIONS, destination_problem, destination_text
from .paths import ICON, metadata


class ScdProvider(QgsProcessingProvider):
    """Holds the scd algorithms. Outputs are GeoPackages and GeoTIFFs by default, the formats the styles
    and metadata travel in; the formats offered besides are those that hold the outputs faithfully."""

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
        self.addAlgorithm(DetectSeriesAlgorithm())
        self.addAlgorithm(ScoreChangesAlgorithm())
        self.addAlgorithm(TrainModelAlgorithm())
        self.addAlgorithm(AccuracySampleAlgorithm())
        self.addAlgorithm(EstimateAreasAlgorithm())
        self.addAlgorithm(ZoneStatisticsAlgorithm())

    def supportedOutputVectorLayerExtensions(self) -> list[str]:
        return list(VECTOR_EXTENSIONS)

    def supportedOutputTableExtensions(self) -> list[str]:
        return list(TABLE_EXTENSIONS)

    def supportedOutputRasterLayerExtensions(self) -> list[str]:
        return list(RASTER_EXTENSIONS)

    def defaultVectorFileExtension(self, hasGeometry: bool = True) -> str:  # noqa: N803 (QGIS's signature)
        return "gpkg"

    def defaultRasterFileExtension(self) -> str:
        return "tif"

    def isSupportedOutputValue(
        self,
        outputValue: Any,  # noqa: N803
        parameter: QgsProcessingDestinationParameter,
        context: QgsProcessingContext,
    ) -> tuple[bool, str]:
        """Whether a destination's format can hold its output; if not, why, in the dialog's words.
        QGIS 3.22's own rule judged a table by the vector formats, and so refused the CSV, XLSX and
        ODS that the matrix's Save dialog offers. A file destination (the trained model) is no layer:
        any file name holds it."""
        if isinstance(parameter, QgsProcessingParameterFileDestination):
            return True, ""
        if isinstance(parameter, QgsProcessingParameterRasterDestination):
            supported = RASTER_EXTENSIONS
        elif isinstance(parameter, QgsProcessingParameterFeatureSink) and not parameter.hasGeometry():
            supported = TABLE_EXTENSIONS
        else:
            supported = VECTOR_EXTENSIONS
        problem = destination_problem(destination_text(outputValue, context), supported, parameter.description())
        return problem is None, problem or ""
