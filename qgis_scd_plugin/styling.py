"""Styles and names of the algorithm's outputs.

The style travels with the output files, so the result looks the same however it is opened later
(after qgis_process, dragged in, in another project): the polygons' style is saved in their GeoPackage
as its default style, and the change-type raster gets a ``.qml`` beside it, which QGIS reads as the
raster's default style. Processing itself loads outputs without their default styles, so the layers it
adds to the map get the same QML from a layer post-processor.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from qgis.core import (
    QgsMapLayer,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsVectorLayer,
)

from .paths import CHANGE_TYPE_STYLE, CHANGES_STYLE

#: The GeoPackage layer the worker writes the from-to polygons to (the worker protocol's contract).
CHANGES_LAYER = "changes"
_STYLE_NAME = "scd change types"


def changes_layer_name(before: str, after: str) -> str:
    """Name of the polygons on the map: what they are and which two images they compare."""
    return f"Changes {before} → {after}"


def change_types_layer_name(before: str, after: str) -> str:
    """Name of the change-type raster on the map."""
    return f"Change types {before} → {after}"


def embed_changes_style(geopackage: str) -> None:
    """Save the categorized from-to style into ``geopackage`` as the default style of its changes layer."""
    layer = QgsVectorLayer(f"{geopackage}|layername={CHANGES_LAYER}", CHANGES_LAYER, "ogr")
    if not layer.isValid():
        raise QgsProcessingException(f"The worker's polygons in {geopackage} cannot be opened.")
    message, loaded = layer.loadNamedStyle(str(CHANGES_STYLE))
    if not loaded:
        raise QgsProcessingException(f"Cannot read the style {CHANGES_STYLE}: {message}")
    error = layer.saveStyleToDatabase(_STYLE_NAME, "From-to change types (scd)", True, "")
    if error:
        raise QgsProcessingException(f"Cannot save the style into {geopackage}: {error}")


def write_change_types_style(raster: str) -> None:
    """Put the paletted change-type style beside ``raster``, where QGIS looks for its default style."""
    shutil.copyfile(CHANGE_TYPE_STYLE, Path(raster).with_suffix(".qml"))


class StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Applies a QML style to a layer Processing has just added to the map (on the main thread)."""

    def __init__(self, style: Path) -> None:
        super().__init__()
        self.style = style

    def postProcessLayer(
        self, layer: QgsMapLayer, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> None:
        message, loaded = layer.loadNamedStyle(str(self.style))
        if not loaded and feedback is not None:
            feedback.pushWarning(f"Could not style {layer.name()} with {self.style}: {message}")
        layer.triggerRepaint()


# Processing does not own post-processors and calls them after the algorithm (and, run from a dialog,
# its copy) is gone, so they live here, made once on the main thread when the plugin is imported.
STYLE_CHANGES_ON_LOAD = StyleOnLoad(CHANGES_STYLE)
STYLE_CHANGE_TYPES_ON_LOAD = StyleOnLoad(CHANGE_TYPE_STYLE)
