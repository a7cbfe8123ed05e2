"""Styles and names of the algorithm's outputs.

The style travels with the output files, so the result looks the same however it is opened later
(after qgis_process, dragged in, in another project): a vector output's style is saved in its
database (a GeoPackage's ``layer_styles`` table) as its default style, or as a ``.qml`` beside a file
that has none, and each raster gets a ``.qml`` beside it, which QGIS reads as the raster's default
style. Processing itself loads outputs without their default styles, so the layers it adds to the
map get the same QML from a layer post-processor.

A change-only model's run (run.json's ``task`` is ``change``: it tells change from no change alone)
has its own looks (:func:`looks_of`): a change map of two categories, polygons of one, no class
maps, and the changed area in place of the change matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsMapLayer,
    QgsPalettedRasterRenderer,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsRasterLayer,
    QgsVectorLayer,
)

from . import settings
from .paths import CHANGE_PROBABILITY_STYLE, CHANGE_TYPE_STYLE, CHANGES_STYLE, CLASS_STYLE

_STYLE_NAME = "scd change types"
#: A change-only model's styles, beside the others (paths.py finds their folder): the change map,
#: paletted, "no change" clear and "change" in the legend's red; the polygons, categorized on
#: ``change_type`` (1, change) in the same red.
CHANGE_ONLY_STYLE = CHANGE_TYPE_STYLE.with_name("change_only.qml")
CHANGE_ONLY_POLYGONS_STYLE = CHANGES_STYLE.with_name("change_only_polygons.qml")


def changes_layer_name(before: str, after: str) -> str:
    """Name of the polygons on the map: what they are and which two images they compare."""
    return f"Changes {before} → {after}"


def change_types_layer_name(before: str, after: str) -> str:
    """Name of the change-type raster on the map."""
    return f"Change types {before} → {after}"


def matrix_layer_name(before: str, after: str) -> str:
    """Name of the from × to table on the map."""
    return f"Change matrix {before} → {after} (ha)"


def probability_layer_name(before: str, after: str) -> str:
    return f"Change probability {before} → {after}"


def classes_layer_name(image: str) -> str:
    """Name of a per-date class map: the classes of ``image`` where the land changed."""
    return f"Classes of {image} where changed"


def change_map_layer_name(before: str, after: str) -> str:
    """Name of a change-only model's change map (change or no change) on the map."""
    return f"Change map {before} → {after}"


def changed_area_layer_name(before: str, after: str) -> str:
    """Name of a change-only model's table of changed area on the map."""
    return f"Changed area {before} → {after} (ha)"


#: A raster output's style and its name on the map (from the two images' names).
RasterLook = tuple[Path, Callable[[str, str], str]]


@dataclass(frozen=True)
class Looks:
    """How the outputs of one kind of run look: the polygons' style and what they are, the table's
    name and what it is, and each raster's look by the worker's name for it (a raster the run does
    not write has none)."""

    polygons_style: Path
    polygons_what: str
    table_name: Callable[[str, str], str]
    table_what: str
    rasters: dict[str, RasterLook]


#: A semantic model's outputs: from-to change types, the change matrix, each date's classes.
SEMANTIC_LOOKS = Looks(
    CHANGES_STYLE,
    "From-to change polygons.",
    matrix_layer_name,
    "Changed area from each class (rows) to each class (columns), in hectares.",
    {
        "change_type": (CHANGE_TYPE_STYLE, change_types_layer_name),
        "change_prob": (CHANGE_PROBABILITY_STYLE, probability_layer_name),
        "before_class": (CLASS_STYLE, lambda before, after: classes_layer_name(before)),
        "after_class": (CLASS_STYLE, lambda before, after: classes_layer_name(after)),
    },
)
#: A change-only model's outputs: change and no change, the changed area; no classes of either date.
CHANGE_ONLY_LOOKS = Looks(
    CHANGE_ONLY_POLYGONS_STYLE,
    "Change polygons (a change-only model: no from-to classes).",
    changed_area_layer_name,
    "Changed area, in hectares (a change-only model: no from-to matrix).",
    {
        "change_type": (CHANGE_ONLY_STYLE, change_map_layer_name),
        "change_prob": (CHANGE_PROBABILITY_STYLE, probability_layer_name),
    },
)


def looks_of(run: dict[str, Any]) -> Looks:
    """The looks of the run that run.json ``run`` records: a change-only model's when its ``task`` is
    ``change``, else a semantic model's (runs from before the key were all semantic)."""
    return CHANGE_ONLY_LOOKS if run.get("task") == "change" else SEMANTIC_LOOKS


def apply_style(layer: QgsMapLayer, style: Path) -> None:
    """Style ``layer`` with the QML ``style``; a legend of change types then lists only those the layer
    holds (a run's few, not all 36), unless the plugin's setting asks for every one."""
    message, loaded = layer.loadNamedStyle(str(style))
    if not loaded:
        raise QgsProcessingException(f"Cannot read the style {style}: {message}")
    if style in (CHANGES_STYLE, CHANGE_TYPE_STYLE) and not settings.legend_of_every_change_type():
        _keep_present_classes(layer)


def _keep_present_classes(layer: QgsMapLayer) -> None:
    """Drop the legend entries of values ``layer`` does not hold: a categorized renderer's categories,
    a paletted renderer's classes."""
    renderer = layer.renderer()
    if isinstance(layer, QgsVectorLayer) and isinstance(renderer, QgsCategorizedSymbolRenderer):
        present = {str(value) for value in layer.uniqueValues(layer.fields().indexOf(renderer.classAttribute()))}
        for index in reversed(range(len(renderer.categories()))):
            if str(renderer.categories()[index].value()) not in present:
                renderer.deleteCategory(index)
    elif isinstance(layer, QgsRasterLayer) and isinstance(renderer, QgsPalettedRasterRenderer):
        counts = layer.dataProvider().histogram(renderer.band(), 256, -0.5, 255.5).histogramVector
        kept = [entry for entry in renderer.classes() if 0 <= entry.value <= 255 and counts[int(entry.value)]]
        layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), renderer.band(), kept))


def save_vector_style(layer: QgsVectorLayer, style: Path) -> None:
    """Style ``layer`` with the QML ``style`` (:func:`apply_style`) and save that as its default."""
    apply_style(layer, style)
    save_default_style(layer, _STYLE_NAME, "From-to change types (scd)")


def save_default_style(layer: QgsVectorLayer, name: str, description: str) -> None:
    """Save ``layer``'s style as its default: in its database when its format has one (GeoPackage,
    SpatiaLite, PostGIS), under ``name``, else as a ``.qml`` beside its file."""
    if layer.dataProvider().isSaveAndLoadStyleToDatabaseSupported():
        error = layer.saveStyleToDatabase(name, description, True, "")
        if error:
            raise QgsProcessingException(f"Cannot save the style into {layer.source()}: {error}")
    else:
        message, saved = layer.saveDefaultStyle()
        if not saved:
            raise QgsProcessingException(f"Cannot save the style beside {layer.source()}: {message}")


def write_raster_style(raster: str, style: Path) -> None:
    """Put the QML ``style`` (:func:`apply_style`) beside ``raster``, where QGIS looks for its default style."""
    layer = QgsRasterLayer(raster, Path(raster).stem)
    apply_style(layer, style)
    message, saved = layer.saveNamedStyle(str(Path(raster).with_suffix(".qml")))
    if not saved:
        raise QgsProcessingException(f"Cannot save the style beside {raster}: {message}")


class StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Applies a QML style to a layer Processing has just added to the map (on the main thread), and
    the metadata saved beside a raster, which QGIS does not read by itself."""

    def __init__(self, style: Path | None) -> None:
        super().__init__()
        self.style = style

    def __dtor__(self) -> None:
        """Called by sip as QGIS deletes the C++ object: its Python side may go too."""
        _HANDED_TO_QGIS.discard(self)

    def postProcessLayer(
        self, layer: QgsMapLayer, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> None:
        if isinstance(layer, QgsRasterLayer) and not layer.metadata().abstract():
            layer.loadDefaultMetadata()
        if self.style is None:
            return
        try:
            apply_style(layer, self.style)
        except QgsProcessingException as error:
            if feedback is not None:
                feedback.pushWarning(f"Could not style {layer.name()}: {error}")
        layer.triggerRepaint()


#: The post-processors QGIS holds and has not deleted yet (see :func:`style_on_load`).
_HANDED_TO_QGIS: set[StyleOnLoad] = set()


def style_on_load(context: QgsProcessingContext, destination: str, name: str, style: Path | None) -> None:
    """Name the layer Processing loads from ``destination`` once the run is over (when it loads one),
    and style it with the QML ``style`` then.

    Each layer gets a post-processor of its own: QGIS deletes the post-processors of a context with the
    context, so one shared by two outputs would be deleted twice (a crash), and one shared by two runs
    would be gone for the second. Handed over, it belongs to C++, but nothing in Python refers to it:
    Python would collect its Python side while QGIS still holds it, and QGIS would then call the C++
    base's empty method, leaving the layer unstyled. So it stays in :data:`_HANDED_TO_QGIS` until QGIS
    deletes it (sip calls ``__dtor__`` then).
    """
    if not context.willLoadLayerOnCompletion(destination):
        return
    details = context.layerToLoadOnCompletionDetails(destination)
    details.name = name
    post_processor = StyleOnLoad(style)
    details.setPostProcessor(post_processor)
    _HANDED_TO_QGIS.add(post_processor)
