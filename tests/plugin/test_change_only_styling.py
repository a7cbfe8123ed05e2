"""A change-only model's run in QGIS: a change map of two classes, polygons styled by change without
from-to fields, the changed area as the table, and no class maps, each styled and named as such."""

from __future__ import annotations

import subprocess
from pathlib import Path

import processing
import pytest
from plugin_testing import RecordingFeedback, detect_parameters
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer

#: The change probabilities of the model below spread over 0.5-1 on the pair; this threshold splits them.
THRESHOLD = 0.75
RASTERS = {
    "OUTPUT_RASTER": "change.tif",
    "OUTPUT_PROBABILITY": "probability.tif",
    "OUTPUT_BEFORE_CLASSES": "before_classes.tif",
    "OUTPUT_AFTER_CLASSES": "after_classes.tif",
}


@pytest.fixture(scope="module")
def change_model(scd_python: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained change-only checkpoint (task "change", one class), its change head sharpened so
    that its change probability varies over the pair. Made by the backend Python: QGIS's has no torch."""
    path = tmp_path_factory.mktemp("change_model") / "change.pt"
    code = """
import sys, torch
from scd_core import checkpoint
from scd_core.models import build
torch.manual_seed(0)
model = build("fc_siam_diff", num_classes=1, width=4)
with torch.no_grad():
    model.head.change.weight.mul_(300)
checkpoint.save(model, sys.argv[1], task="change", tile_size=128)
"""
    done = subprocess.run([scd_python, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def change_run(plugin, geo_pair, change_model, tmp_path_factory):
    """One run of the change-only model asked for every output, into files: (folder, results, feedback)."""
    folder = tmp_path_factory.mktemp("change_outputs")
    outputs = {name: str(folder / file) for name, file in RASTERS.items()}
    outputs.update(OUTPUT=str(folder / "changes.gpkg"), OUTPUT_MATRIX=str(folder / "area.gpkg"))
    feedback = RecordingFeedback()
    parameters = detect_parameters(geo_pair, change_model, THRESHOLD=THRESHOLD, **outputs)
    results = processing.run("scd:detectchanges", parameters, feedback=feedback)
    return folder, results, feedback


def test_the_polygons_are_styled_by_change_and_have_no_from_to_fields(change_run):
    from qgis_scd_plugin.shared import legend

    folder, _, _ = change_run
    polygons = QgsVectorLayer(str(folder / "changes.gpkg"), "changes", "ogr")  # its style saved in the GeoPackage
    assert polygons.featureCount() > 0
    assert [field.name() for field in polygons.fields()] == ["fid", "change_type", "area_m2", "mean_prob"]
    renderer = polygons.renderer()
    assert renderer.type() == "categorizedSymbol" and renderer.classAttribute() == "change_type"
    (category,) = renderer.categories()
    assert (int(category.value()), category.label()) == (1, "change")
    fill = category.symbol().symbolLayer(0)
    assert fill.fillColor().getRgb()[:3] == legend.CHANGE_CLASSES[1].rgb and fill.fillColor().alpha() < 255
    assert sum(fill.strokeColor().getRgb()[:3]) < sum(legend.CHANGE_CLASSES[1].rgb), "a darker outline"
    assert "change-only model" in polygons.metadata().abstract()


def test_the_change_map_has_two_classes_no_change_clear(change_run):
    from qgis_scd_plugin.shared import legend

    folder, results, _ = change_run
    assert results["OUTPUT_RASTER"] == str(folder / "change.tif")
    layer = QgsRasterLayer(str(folder / "change.tif"), "change")  # the .qml beside it is its default style
    renderer = layer.renderer()
    assert renderer.type() == "paletted"
    no_change, change = renderer.classes()
    assert (int(no_change.value), no_change.label, no_change.color.alpha()) == (0, "no change", 0)
    assert (int(change.value), change.label) == (1, "change")
    assert change.color.getRgb()[:3] == legend.CHANGE_CLASSES[1].rgb
    statistics = layer.dataProvider().bandStatistics(1)
    assert (statistics.minimumValue, statistics.maximumValue) == (0, 1), "change and no change, nothing else"
    probability = QgsRasterLayer(str(folder / "probability.tif"), "p")
    assert probability.renderer().type() == "singlebandpseudocolor"


def test_no_class_maps_are_written_and_the_log_says_why(change_run):
    folder, results, feedback = change_run
    for name in ("OUTPUT_BEFORE_CLASSES", "OUTPUT_AFTER_CLASSES"):
        assert results[name] is None and not (folder / RASTERS[name]).exists()
    warnings = [warning for warning in feedback.warnings if "a change-only model maps no classes" in warning]
    assert len(warnings) == 2


def test_the_table_is_the_changed_area(change_run):
    folder, results, _ = change_run
    table = QgsVectorLayer(results["OUTPUT_MATRIX"], "area", "ogr")
    assert [field.name() for field in table.fields() if field.name() != "fid"] == ["category", "area (ha)"]
    (row,) = table.getFeatures()
    polygons = QgsVectorLayer(str(folder / "changes.gpkg"), "changes", "ogr")
    hectares = sum(feature["area_m2"] for feature in polygons.getFeatures()) / 10_000
    assert row["category"] == "change" and row["area (ha)"] == pytest.approx(hectares, abs=1e-3)
    assert "Changed area, in hectares" in table.metadata().abstract()


def test_results_load_on_the_map_named_and_styled_as_a_change_only_run(plugin, geo_pair, change_model, tmp_path):
    project = QgsProject.instance()
    try:
        processing.runAndLoadResults(
            "scd:detectchanges",
            detect_parameters(
                geo_pair,
                change_model,
                THRESHOLD=THRESHOLD,
                OUTPUT=str(tmp_path / "changes.gpkg"),
                OUTPUT_MATRIX="TEMPORARY_OUTPUT",
                OUTPUT_RASTER=str(tmp_path / "change.tif"),
            ),
        )
        loaded = {layer.name(): layer for layer in project.mapLayers().values()}
        assert set(loaded) == {
            "Changes before → after",
            "Change map before → after",
            "Changed area before → after (ha)",
        }
        (category,) = loaded["Changes before → after"].renderer().categories()
        assert category.label() == "change"
        labels = [entry.label for entry in loaded["Change map before → after"].renderer().classes()]
        assert labels == ["no change", "change"]
    finally:
        project.clear()
