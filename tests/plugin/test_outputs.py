"""The algorithm's outputs: any destination QGIS writes, or a refusal before the run; the change
matrix as a table; run.json's model, threshold and inputs in each output's metadata; the optional
change-probability and per-date class rasters, styled."""

from __future__ import annotations

import json
import os

import processing
import pytest
from plugin_testing import TEST_CRS, RecordingFeedback, detect_parameters
from qgis.core import QgsProcessingException, QgsRasterLayer, QgsVectorLayer, QgsWkbTypes

#: Every output of one run (written once for the tests of this module).
RASTERS = {
    "OUTPUT_RASTER": "codes.tif",
    "OUTPUT_PROBABILITY": "probability.tif",
    "OUTPUT_BEFORE_CLASSES": "before_classes.tif",
    "OUTPUT_AFTER_CLASSES": "after_classes.tif",
}
#: The matrix's first column, as summary.csv heads it: the rows are the classes before, the columns after.
FROM_TO = "from \\ to (ha)"


@pytest.fixture(scope="module")
def every_output(plugin, geo_pair, tiny_model, tmp_path_factory):
    """One run asked for every output, into files: (folder, results)."""
    folder = tmp_path_factory.mktemp("outputs")
    outputs = {name: str(folder / file) for name, file in RASTERS.items()}
    outputs.update(OUTPUT=str(folder / "changes.gpkg"), OUTPUT_MATRIX=str(folder / "matrix.gpkg"))
    results = processing.run("scd:detectchanges", detect_parameters(geo_pair, tiny_model, **outputs))
    return folder, results


def run_record(layer) -> dict:
    """The run.json record a layer's metadata history holds."""
    (entry,) = layer.metadata().history()
    assert entry.startswith("scd detect run.json: ")
    return json.loads(entry.split(": ", 1)[1])


def test_the_polygons_metadata_says_which_model_threshold_and_images_made_them(every_output, geo_pair, tiny_model):
    folder, _ = every_output
    reopened = QgsVectorLayer(str(folder / "changes.gpkg"), "changes", "ogr")  # saved in the GeoPackage
    metadata = reopened.metadata()
    assert metadata.title() == "Changes before → after"
    for fact in (f"checkpoint {tiny_model}", "Change threshold: 0.05.", f"Before: {geo_pair / 'before.tif'} (bands 1"):
        assert fact in metadata.abstract()
    record = run_record(reopened)
    assert record["model"]["checkpoint"] == str(tiny_model)
    assert record["options"]["threshold"] == 0.05
    assert record["inputs"]["after"]["path"] == str(geo_pair / "after.tif")
    assert metadata.crs().authid() == TEST_CRS


def test_the_change_matrix_is_a_table_of_hectares_from_each_class_to_each_class(every_output):
    from qgis_scd_plugin.shared import legend

    folder, results = every_output
    assert results["OUTPUT_MATRIX"].startswith(str(folder / "matrix.gpkg"))
    table = QgsVectorLayer(results["OUTPUT_MATRIX"], "matrix", "ogr")
    assert table.isValid() and table.wkbType() == QgsWkbTypes.NoGeometry
    names = [land_cover.name for land_cover in legend.SECOND_CLASSES[1:]]
    components = ["gross gain (ha)", "gross loss (ha)", "net change (ha)", "swap (ha)", "persistence (ha)"]
    assert [field.name() for field in table.fields() if field.name() != "fid"] == [
        FROM_TO,
        *names,
        "total",
        *components,
    ]
    assert {field.typeName().lower() for field in table.fields() if field.name() != FROM_TO} <= {"real", "integer64"}
    rows = {feature[FROM_TO]: feature for feature in table.getFeatures()}
    assert list(rows) == [*names, "total"]
    for name in names:
        assert rows[name]["total"] == pytest.approx(sum(rows[name][to] for to in names), abs=1e-3)
    assert rows["total"]["total"] > 0, "the untrained model at a low threshold changes some land"
    assert rows["total"]["gross gain (ha)"] == pytest.approx(rows["total"]["total"], abs=1e-3)
    assert rows[names[0]]["persistence (ha)"] is None or str(rows[names[0]]["persistence (ha)"]) == "NULL"
    assert "hectares" in table.metadata().abstract() and run_record(table)["options"]["threshold"] == 0.05


def test_change_probability_and_class_rasters_are_written_styled_and_described(every_output):
    folder, results = every_output
    for name, file in RASTERS.items():
        assert results[name] == str(folder / file)
        layer = QgsRasterLayer(str(folder / file), file)
        assert layer.isValid() and layer.crs().authid() == TEST_CRS and (layer.width(), layer.height()) == (256, 256)
        assert layer.loadDefaultMetadata()[1], f"{file} has its metadata beside it"
        assert run_record(layer)["options"]["threshold"] == 0.05
    probability = QgsRasterLayer(str(folder / "probability.tif"), "p")
    assert probability.renderer().type() == "singlebandpseudocolor"
    assert probability.renderer().shader().shade(0.0)[4] == 0, "transparent at 0: the imagery shows through"
    assert probability.renderer().shader().shade(0.5)[4] == 255
    statistics = probability.dataProvider().bandStatistics(1)
    assert 0 <= statistics.minimumValue < statistics.maximumValue <= 1, "QGIS reads the probability as 0 to 1"
    for file in ("before_classes.tif", "after_classes.tif"):
        classes = QgsRasterLayer(str(folder / file), file)
        assert classes.renderer().type() == "paletted"
        labels = {int(entry.value): entry.label for entry in classes.renderer().classes()}
        assert labels[0] == "no change" and labels[5] == "building"
        assert classes.dataProvider().bandStatistics(1).maximumValue <= 6


def test_legends_list_the_change_types_an_output_holds(every_output):
    from qgis_scd_plugin.shared import legend

    folder, _ = every_output
    polygons = QgsVectorLayer(str(folder / "changes.gpkg"), "changes", "ogr")
    held = sorted(polygons.uniqueValues(polygons.fields().indexOf("change_type")))
    assert 0 < len(held) < len(legend.change_types())
    assert [int(category.value()) for category in polygons.renderer().categories()] == held
    codes = QgsRasterLayer(str(folder / "codes.tif"), "codes")
    counts = codes.dataProvider().histogram(1, 256, -0.5, 255.5).histogramVector
    assert [int(entry.value) for entry in codes.renderer().classes()] == [v for v in range(256) if counts[v]]


def test_the_rasters_say_that_minimum_area_left_their_small_patches(every_output):
    """MIN_AREA drops polygons (and their hectares in the matrix) only; the rasters keep those patches."""
    folder, _ = every_output
    for file in RASTERS.values():
        layer = QgsRasterLayer(str(folder / file), file)
        layer.loadDefaultMetadata()
        assert "Minimum area drops small change polygons" in layer.metadata().abstract()
        assert "this raster keeps those patches" in layer.metadata().abstract()


def test_a_setting_makes_legends_list_every_change_type(plugin, geo_pair, tiny_model, tmp_path):
    from qgis.core import QgsSettings

    from qgis_scd_plugin.shared import legend

    QgsSettings().setValue("scd/legend_every_change_type", True)
    try:
        outputs = {"OUTPUT": str(tmp_path / "c.gpkg"), "OUTPUT_RASTER": str(tmp_path / "codes.tif")}
        processing.run("scd:detectchanges", detect_parameters(geo_pair, tiny_model, **outputs))
    finally:
        QgsSettings().remove("scd/legend_every_change_type")
    polygons = QgsVectorLayer(str(tmp_path / "c.gpkg"), "changes", "ogr")
    assert len(polygons.renderer().categories()) == len(legend.change_types())
    assert (
        len(QgsRasterLayer(str(tmp_path / "codes.tif"), "codes").renderer().classes()) == len(legend.change_types()) + 1
    )


@pytest.mark.parametrize("extension", ["fgb", "geojson", "sqlite"])
def test_other_vector_formats_are_written_with_their_fields_and_style(
    plugin, geo_pair, tiny_model, tmp_path, every_output, extension
):
    folder, _ = every_output
    output = tmp_path / f"changes.{extension}"
    processing.run("scd:detectchanges", detect_parameters(geo_pair, tiny_model, OUTPUT=str(output)))
    written = QgsVectorLayer(str(output), "changes", "ogr")
    reference = QgsVectorLayer(str(folder / "changes.gpkg"), "changes", "ogr")
    assert written.isValid() and written.featureCount() == reference.featureCount() > 0
    fields = ["change_type", "from_class", "to_class", "from_name", "to_name", "area_m2", "mean_prob"]
    keys = written.dataProvider().pkAttributeIndexes()  # a format's own feature id, such as ogc_fid
    assert [field.name() for index, field in enumerate(written.fields()) if index not in keys] == fields
    assert written.renderer().type() == "categorizedSymbol", "the style is saved beside the file"


def test_an_ogr_database_table_destination_is_written_as_that_table(
    plugin, geo_pair, tiny_model, tmp_path, monkeypatch
):
    """What "Save to database table…" hands over; writing the GeoPackage's bytes to that text made
    folders named ``ogr:dbname=…`` in the working folder."""
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "project.gpkg"
    destination = f"ogr:dbname='{database}' table=\"my_changes\" (geom)"
    processing.run("scd:detectchanges", detect_parameters(geo_pair, tiny_model, OUTPUT=destination))
    table = QgsVectorLayer(f"{database}|layername=my_changes", "my_changes", "ogr")
    assert table.isValid() and table.featureCount() > 0
    assert table.renderer().type() == "categorizedSymbol" and "Change threshold" in table.metadata().abstract()
    assert os.listdir(tmp_path) == ["project.gpkg"]


def test_a_temporary_layer_and_a_csv_matrix(plugin, geo_pair, tiny_model, tmp_path, every_output):
    folder, _ = every_output
    matrix = tmp_path / "matrix.csv"
    outputs = {"OUTPUT": "TEMPORARY_OUTPUT", "OUTPUT_MATRIX": str(matrix)}
    results = processing.run("scd:detectchanges", detect_parameters(geo_pair, tiny_model, **outputs))
    layer = results["OUTPUT"]
    assert isinstance(layer, QgsVectorLayer) and layer.providerType() == "memory"
    assert layer.featureCount() > 0 and layer.renderer().type() == "categorizedSymbol"
    assert "Change threshold: 0.05." in layer.metadata().abstract()
    lines = matrix.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("from \\ to (ha),water,") and ",total,gross gain (ha)," in lines[0] and len(lines) == 8
    reference = QgsVectorLayer(str(folder / "matrix.gpkg"), "matrix", "ogr")
    total = next(feature for feature in reference.getFeatures() if feature[FROM_TO] == "total")
    assert float(lines[-1].split(",")[7]) == pytest.approx(total["total"])


@pytest.mark.parametrize(
    ("name", "file", "message"),
    [
        ("OUTPUT", "changes.shp", "Shapefiles cut field names to 10 characters"),
        ("OUTPUT", "changes.kml", "Save it as .gpkg, .fgb, .geojson, .sqlite instead."),
        ("OUTPUT_PROBABILITY", "probability.png", "Save it as .tif, .tiff instead."),
    ],
)
def test_a_format_that_cannot_hold_an_output_is_refused_before_the_run(
    plugin, geo_pair, tiny_model, tmp_path, name, file, message
):
    outputs = {"OUTPUT": str(tmp_path / "changes.gpkg"), name: str(tmp_path / file)}
    feedback = RecordingFeedback()
    with pytest.raises(QgsProcessingException) as error:
        processing.run("scd:detectchanges", detect_parameters(geo_pair, tiny_model, **outputs), feedback=feedback)
    assert message in str(error.value) and f"“.{file.split('.')[1]}” files cannot hold this output" in str(error.value)
    assert not feedback.commands, "the worker never started"
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("destination", "file"),
    [
        ("/data/changes.gpkg", "/data/changes.gpkg"),
        ("results/changes.shp|layername=changes", "results/changes.shp"),
        ("ogr:dbname='/data/my db.gpkg' table=\"changes\" (geom)", "/data/my db.gpkg"),
        ('ogr:dbname="/data/x.sqlite" table="t"', "/data/x.sqlite"),
        ("C:/data/changes.gpkg", "C:/data/changes.gpkg"),
        ("memory:", None),
        ("TEMPORARY_OUTPUT", None),
        ('postgres://dbname=\'gis\' table="public"."changes"', None),
    ],
)
def test_the_file_of_a_destination_is_told_from_other_destinations(plugin, destination, file):
    from qgis_scd_plugin.outputs import destination_file

    assert destination_file(destination) == file
