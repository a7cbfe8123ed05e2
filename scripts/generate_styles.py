"""Write the plugin's QGIS styles into resources/styles from the one legend, scd_core/legend.py.

The styles are made by QGIS's own renderer classes, so they are valid QML for the QGIS that runs this
(run it with the oldest QGIS the plugin supports, 3.22):

* ``changes.qml``: a categorized renderer on ``change_type`` for the polygons, "from → to" labels;
* ``change_type.qml``: a paletted renderer for the raster of change codes, the same labels;
* ``class.qml``: a paletted renderer for the per-date class maps, the class names, "no change" clear;
* ``change_prob.qml``: a pseudocolour ramp for the change probability, 0 to 1.

The QML files are committed; tests/plugin/test_styles.py checks they match the legend.

    /usr/bin/python3 scripts/generate_styles.py [OUT_DIR]     # default resources/styles
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from osgeo import gdal
from qgis.core import (
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsFillSymbol,
    QgsMapLayer,
    QgsPalettedRasterRenderer,
    QgsRasterLayer,
    QgsRasterShader,
    QgsReadWriteContext,
    QgsRendererCategory,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtXml import QDomDocument

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from scd_core.legend import NO_CHANGE, NO_CHANGE_NAME, SECOND_CLASSES, change_types  # noqa: E402

#: Opacity of fills and raster colours: the imagery under a change stays readable.
FILL_ALPHA = 190
OUTLINE_WIDTH_MM = 0.4


def changes_renderer() -> QgsCategorizedSymbolRenderer:
    categories = []
    for change in change_types():
        symbol = QgsFillSymbol.createSimple(
            {
                "color": ",".join(str(value) for value in (*change.fill, FILL_ALPHA)),
                "outline_color": ",".join(str(value) for value in (*change.outline, 255)),
                "outline_width": str(OUTLINE_WIDTH_MM),
                "outline_width_unit": "MM",
            }
        )
        categories.append(QgsRendererCategory(change.code, symbol, change.label))
    return QgsCategorizedSymbolRenderer("change_type", categories)


def change_type_classes() -> list[QgsPalettedRasterRenderer.Class]:
    classes = [QgsPalettedRasterRenderer.Class(NO_CHANGE, QColor(0, 0, 0, 0), NO_CHANGE_NAME)]
    for change in change_types():
        classes.append(QgsPalettedRasterRenderer.Class(change.code, QColor(*change.fill, FILL_ALPHA), change.label))
    return classes


def class_classes() -> list[QgsPalettedRasterRenderer.Class]:
    """The land-cover classes in their label colours; 0 ("no change": the class maps are only set where
    the land changed) is transparent, so the imagery shows there."""
    classes = [QgsPalettedRasterRenderer.Class(NO_CHANGE, QColor(0, 0, 0, 0), NO_CHANGE_NAME)]
    for land_cover in SECOND_CLASSES[1:]:
        classes.append(QgsPalettedRasterRenderer.Class(land_cover.index, QColor(*land_cover.rgb), land_cover.name))
    return classes


#: The change probability's ramp: white (0), orange (0.5), dark red (1), the colour table the engine
#: writes into change_prob.tif (scd_core/geo/maps.py, probability_colormap), but transparent at 0 and
#: fading in above it, so that the imagery shows where the model sees no change.
PROBABILITY_STOPS = ((0.0, (255, 255, 255, 0)), (0.5, (253, 141, 60, 255)), (1.0, (128, 0, 38, 255)))


def probability_renderer(provider) -> QgsSingleBandPseudoColorRenderer:
    """A pseudocolour ramp over the probability 0..1 (QGIS applies the file's scale of 0.004)."""
    ramp = QgsColorRampShader(0.0, 1.0)
    ramp.setColorRampType(QgsColorRampShader.Interpolated)
    ramp.setColorRampItemList(
        [QgsColorRampShader.ColorRampItem(value, QColor(*rgb), f"{value:g}") for value, rgb in PROBABILITY_STOPS]
    )
    shader = QgsRasterShader(0.0, 1.0)
    shader.setRasterShaderFunction(ramp)
    renderer = QgsSingleBandPseudoColorRenderer(provider, 1, shader)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(1.0)
    return renderer


def write_qml(layer, path: Path) -> None:
    document = QDomDocument()
    error = layer.exportNamedStyle(document, QgsReadWriteContext(), QgsMapLayer.Symbology)
    if error:
        raise RuntimeError(f"cannot export the style of {layer.name()}: {error}")
    path.write_text(document.toString(2), encoding="utf-8")


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    polygons = QgsVectorLayer("Polygon?crs=EPSG:3857&field=change_type:integer", "changes", "memory")
    polygons.setRenderer(changes_renderer())
    write_qml(polygons, out_dir / "changes.qml")
    with tempfile.TemporaryDirectory() as scratch:
        codes_path = str(Path(scratch) / "codes.tif")
        codes = gdal.GetDriverByName("GTiff").Create(codes_path, 1, 1, 1, gdal.GDT_Byte)
        codes.SetGeoTransform((0, 1, 0, 1, 0, -1))
        codes = None
        raster = QgsRasterLayer(codes_path, "change_type")
        raster.setRenderer(QgsPalettedRasterRenderer(raster.dataProvider(), 1, change_type_classes()))
        write_qml(raster, out_dir / "change_type.qml")
        raster.setRenderer(QgsPalettedRasterRenderer(raster.dataProvider(), 1, class_classes()))
        write_qml(raster, out_dir / "class.qml")
        raster.setRenderer(probability_renderer(raster.dataProvider()))
        write_qml(raster, out_dir / "change_prob.qml")
        del raster  # closes codes.tif before its folder goes


if __name__ == "__main__":
    application = QgsApplication([], False)
    application.initQgis()
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "resources" / "styles")
    application.exitQgis()
