"""Write the plugin's QGIS styles, resources/styles/changes.qml and change_type.qml, from the change-type
table in qgis_scd_plugin/change_types.py.

The styles are made by QGIS's own renderer classes, so they are valid QML for the QGIS that runs this
(run it with the oldest QGIS the plugin supports, 3.22): a categorized renderer on ``change_type`` for
the polygons and a paletted renderer for the raster of codes, each with "from → to" legend labels.
The QML files are committed; tests/plugin/test_styles.py checks they match this table.

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
    QgsFillSymbol,
    QgsMapLayer,
    QgsPalettedRasterRenderer,
    QgsRasterLayer,
    QgsReadWriteContext,
    QgsRendererCategory,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtXml import QDomDocument

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from qgis_scd_plugin.legend import NO_CHANGE, NO_CHANGE_NAME, change_types  # noqa: E402

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
        del raster  # closes codes.tif before its folder goes


if __name__ == "__main__":
    application = QgsApplication([], False)
    application.initQgis()
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "resources" / "styles")
    application.exitQgis()
