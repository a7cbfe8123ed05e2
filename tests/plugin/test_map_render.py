"""A map render of the styled result, as the analyst sees it: polygons over imagery, written to a PNG."""

from __future__ import annotations

import numpy as np
from plugin_testing import write_changes_geopackage, write_raster
from qgis.core import (
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor, QImage

# Two 30 m squares in a 100 m image whose top-left corner is at (500000, 4600000).
BUILT = "POLYGON((500010 4599990, 500040 4599990, 500040 4599960, 500010 4599960, 500010 4599990))"
FLOODED = "POLYGON((500060 4599940, 500090 4599940, 500090 4599910, 500060 4599910, 500060 4599940))"


def test_styled_changes_render_over_imagery_to_a_non_blank_png(plugin, tmp_path):
    from qgis_scd_plugin.paths import CHANGES_STYLE
    from qgis_scd_plugin.shared import legend
    from qgis_scd_plugin.styling import save_vector_style

    built, flooded = legend.change_code(3, 5), legend.change_code(4, 1)  # low vegetation → building, tree → water
    imagery = np.full((3, 100, 100), 90, dtype=np.uint8)
    imagery[1] = 130  # a dull green field
    background = QgsRasterLayer(str(write_raster(tmp_path / "after.tif", imagery)), "after")
    geopackage = write_changes_geopackage(tmp_path / "changes.gpkg", {built: BUILT, flooded: FLOODED})
    changes = QgsVectorLayer(f"{geopackage}|layername=changes", "changes", "ogr")
    save_vector_style(changes, CHANGES_STYLE)

    settings = QgsMapSettings()
    settings.setLayers([changes, background])
    settings.setDestinationCrs(changes.crs())
    settings.setExtent(QgsRectangle(500000, 4599900, 500100, 4600000))
    settings.setOutputSize(QSize(200, 200))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    png = tmp_path / "changes.png"
    assert job.renderedImage().save(str(png), "PNG")

    image = QImage(str(png))
    assert (image.width(), image.height()) == (200, 200)

    def colour(x: int, y: int):
        return QColor(image.pixel(x, y)).getRgb()[:3]

    field, building, water = colour(190, 10), colour(50, 50), colour(150, 150)
    assert field == (90, 130, 90), "the imagery shows where nothing changed"
    assert building[0] > building[1] + 60 and building[0] > building[2] + 60, f"a change to building is red: {building}"
    assert water[2] > water[0] + 40 and water[2] > water[1], f"a change to water is blue: {water}"
    edge = colour(20, 50)  # the left side of the building square
    assert sum(edge) < sum(building) - 60, f"a dark outline is drawn: {edge} against {building}"
