"""The looks of a series' outputs (``scd series``): its period rasters paletted with the periods' names,
and its polygons coloured by period.

The engine writes each period raster with a colour table and the names of its values in the
``scd_class_names`` tag (``{"0": "never", "1": "2021 → 2022", …}``); the style made here is a paletted
renderer of those colours and names, "never" and "no change" clear, saved as a ``.qml`` beside the
raster, where QGIS finds it however the file is opened later.
"""

from __future__ import annotations

import json
from pathlib import Path

from osgeo import gdal
from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsFillSymbol,
    QgsPalettedRasterRenderer,
    QgsProcessingException,
    QgsRasterLayer,
    QgsRendererCategory,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

#: The engine's nodata value of the series rasters.
NODATA = 255


def value_names(raster: str) -> dict[int, str]:
    """The names of a series raster's values, from its ``scd_class_names`` tag."""
    dataset = gdal.Open(raster)
    text = dataset.GetMetadataItem("scd_class_names") if dataset is not None else None
    if not text:
        raise QgsProcessingException(f"{raster} names none of its values (no scd_class_names tag)")
    return {int(value): name for value, name in json.loads(text).items()}


def period_layer(raster: str, name: str) -> QgsRasterLayer:
    """The raster as a layer named ``name``, paletted by its colour table with its values' names (0
    clear), and that style saved beside it."""
    layer = QgsRasterLayer(raster, name)
    if not layer.isValid():
        raise QgsProcessingException(f"The series raster {raster} cannot be opened.")
    names = value_names(raster)
    classes = []
    for entry in QgsPalettedRasterRenderer.colorTableToClassData(layer.dataProvider().colorTable(1)):
        if int(entry.value) == NODATA or int(entry.value) not in names:
            continue
        colour = QColor(entry.color)
        if entry.value == 0:
            colour.setAlpha(0)
        classes.append(QgsPalettedRasterRenderer.Class(entry.value, colour, names[int(entry.value)]))
    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes))
    message, saved = layer.saveNamedStyle(str(Path(raster).with_suffix(".qml")))
    if not saved:
        raise QgsProcessingException(f"Cannot save the style beside {raster}: {message}")
    return layer


def periods_layer(geopackage: str, name: str, first_change: QgsRasterLayer) -> QgsVectorLayer:
    """The series' polygons, coloured by period as the first-change raster colours its periods."""
    layer = QgsVectorLayer(f"{geopackage}|layername=changes", name, "ogr")
    if not layer.isValid():
        raise QgsProcessingException(f"The series' polygons {geopackage} cannot be opened.")
    renderer = first_change.renderer()
    categories = []
    for entry in renderer.classes() if isinstance(renderer, QgsPalettedRasterRenderer) else []:
        if entry.value == 0:
            continue
        symbol = QgsFillSymbol.createSimple({"color": entry.color.name(), "outline_color": "#202020"})
        categories.append(QgsRendererCategory(int(entry.value), symbol, entry.label))
    layer.setRenderer(QgsCategorizedSymbolRenderer("period_code", categories))
    return layer
