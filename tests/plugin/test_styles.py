"""The outputs' styles: from-to legend labels, colours that read on imagery, carried by the files."""

from __future__ import annotations

import colorsys
import itertools
import json
import subprocess

import numpy as np
from plugin_testing import REPO, write_changes_geopackage, write_raster
from qgis.core import QgsRasterLayer, QgsVectorLayer

SQUARE = "POLYGON((500010 4599990, 500040 4599990, 500040 4599960, 500010 4599960, 500010 4599990))"


def test_change_types_cover_the_36_from_to_pairs_in_the_engines_code_order(plugin):
    from qgis_scd_plugin.shared import legend

    types = legend.change_types()
    assert [change.code for change in types] == list(range(1, 37))
    assert types[16].label == "low vegetation → building"  # 1 + 6*(3-1) + (5-1) = 17
    assert types[0].label == "water → water" and types[35].label == "playground → playground"


def test_the_plugin_draws_with_the_engines_own_legend(plugin_zip, scd_python, tmp_path):
    """One legend for the GeoTIFF colour tables, the preview and the QGIS styles: the zip carries the
    engine's scd_core/legend.py itself, and the engine names and colours the codes as the plugin does."""
    import zipfile

    from qgis_scd_plugin.shared import legend

    with zipfile.ZipFile(plugin_zip) as archive:
        bundled = archive.read("qgis_scd_plugin/shared/legend.py")
    assert bundled == (REPO / "scd_core" / "legend.py").read_bytes()
    code = (
        "import json; from scd_core.geo.maps import change_type_colormap; from scd_core.labels import CLASSES, "
        "change_type_names; print(json.dumps([change_type_names(), change_type_colormap(CLASSES)]))"
    )
    output = subprocess.run([scd_python, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    names, colours = json.loads(output.stdout)
    assert names == [legend.NO_CHANGE_NAME, *(change.label for change in legend.change_types())]
    assert [tuple(colours[str(change.code)][:3]) for change in legend.change_types()] == [
        c.fill for c in legend.change_types()
    ]


def test_hue_says_what_the_land_became_and_lightness_what_it_was(plugin):
    from qgis_scd_plugin.shared import legend

    def hls(rgb):
        return colorsys.rgb_to_hls(*(value / 255 for value in rgb))

    types = legend.change_types()
    for first, second in itertools.combinations(types, 2):
        assert first.fill != second.fill
        same_to = first.to_class == second.to_class
        assert (abs(hls(first.fill)[0] - hls(second.fill)[0]) < 0.01) == same_to
        if first.from_class == second.from_class:
            assert abs(hls(first.fill)[1] - hls(second.fill)[1]) < 0.01
    for change in types:
        assert hls(change.outline)[1] < hls(change.fill)[1], "the outline is darker than the fill"


def test_polygon_style_is_categorized_on_change_type_with_from_to_labels(plugin):
    from qgis_scd_plugin.paths import CHANGES_STYLE
    from qgis_scd_plugin.shared import legend

    layer = QgsVectorLayer("Polygon?crs=EPSG:32631&field=change_type:integer", "changes", "memory")
    message, loaded = layer.loadNamedStyle(str(CHANGES_STYLE))
    assert loaded, message
    renderer = layer.renderer()
    assert renderer.type() == "categorizedSymbol" and renderer.classAttribute() == "change_type"
    categories = renderer.categories()
    assert [(int(category.value()), category.label()) for category in categories] == [
        (change.code, change.label) for change in legend.change_types()
    ]
    for category, change in zip(categories, legend.change_types(), strict=True):
        fill = category.symbol().symbolLayer(0)
        assert fill.fillColor().getRgb()[:3] == change.fill and fill.fillColor().alpha() < 255
        assert fill.strokeColor().getRgb()[:3] == change.outline and fill.strokeWidth() > 0


def test_raster_style_is_paletted_with_no_change_transparent(plugin, tmp_path):
    from qgis_scd_plugin.paths import CHANGE_TYPE_STYLE
    from qgis_scd_plugin.shared import legend
    from qgis_scd_plugin.styling import write_raster_style

    codes = write_raster(tmp_path / "change_type.tif", np.arange(64, dtype=np.uint8).reshape(1, 8, 8) % 37)
    write_raster_style(str(codes), CHANGE_TYPE_STYLE)
    layer = QgsRasterLayer(str(codes), "codes")
    renderer = layer.renderer()
    assert renderer.type() == "paletted", "the .qml beside the raster is its default style"
    classes = renderer.classes()
    assert classes[0].value == 0 and classes[0].color.alpha() == 0 and classes[0].label == "no change"
    assert [(int(entry.value), entry.label) for entry in classes[1:]] == [
        (change.code, change.label) for change in legend.change_types()
    ]
    assert [entry.color.getRgb()[:3] for entry in classes[1:]] == [change.fill for change in legend.change_types()]


def test_the_geopackage_carries_its_style_to_whoever_opens_it(plugin, tmp_path):
    from qgis_scd_plugin.paths import CHANGES_STYLE
    from qgis_scd_plugin.shared import legend
    from qgis_scd_plugin.styling import save_vector_style

    geopackage = write_changes_geopackage(tmp_path / "changes.gpkg", {17: SQUARE})
    save_vector_style(QgsVectorLayer(f"{geopackage}|layername=changes", "changes", "ogr"), CHANGES_STYLE)
    reopened = QgsVectorLayer(f"{geopackage}|layername=changes", "reopened", "ogr")
    assert reopened.renderer().type() == "categorizedSymbol"
    (category,) = reopened.renderer().categories()  # the legend lists the change types the layer holds
    assert category.label() == "low vegetation → building"
    assert category.symbol().color().getRgb()[:3] == legend.change_types()[16].fill
