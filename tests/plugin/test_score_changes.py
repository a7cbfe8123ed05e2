"""``scd:scorechanges``: a change map (a run's folder, or the change-type raster the detection wrote)
against one or two reference rasters, scored by the engine's ``scd score --json`` in the backend."""

from __future__ import annotations

import subprocess

import processing
import pytest
from plugin_testing import RecordingFeedback, detect_parameters
from qgis.core import QgsProcessingException, QgsVectorLayer


@pytest.fixture(scope="module")
def change_raster(plugin, geo_pair, tiny_model, tmp_path_factory):
    """The Change types output of a detection."""
    folder = tmp_path_factory.mktemp("detected")
    outputs = {"OUTPUT": str(folder / "changes.gpkg"), "OUTPUT_RASTER": str(folder / "change_types.tif")}
    processing.run("scd:detectchanges", detect_parameters(geo_pair, tiny_model, **outputs))
    return folder / "change_types.tif"


@pytest.fixture(scope="module")
def run_folder(scd_python, geo_pair, tiny_model, tmp_path_factory):
    """An scd detect output folder of the same pair and model, from the command line."""
    folder = tmp_path_factory.mktemp("run") / "out"
    done = subprocess.run(
        [scd_python, "-m", "scd_core", "detect", str(geo_pair / "before.tif"), str(geo_pair / "after.tif"), "-o",
         str(folder), "--model", str(tiny_model), "--tile", "128", "--threshold", "0.05", "--device", "cpu"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder


def scores(table: str) -> dict:
    layer = QgsVectorLayer(table, "scores", "ogr")
    return {(feature["group"], feature["score"]): feature["percent"] for feature in layer.getFeatures()}


def test_a_change_raster_is_scored_against_per_date_references_as_its_run_folder_is(
    plugin, geo_pair, change_raster, run_folder, tmp_path
):
    references = {"REFERENCE": str(geo_pair / "label1.tif"), "REFERENCE2": str(geo_pair / "label2.tif")}
    feedback = RecordingFeedback()
    from_raster = processing.run(
        "scd:scorechanges",
        {"CHANGES": str(change_raster), **references, "OUTPUT": str(tmp_path / "a.gpkg")},
        feedback=feedback,
    )
    from_folder = processing.run(
        "scd:scorechanges", {"RUN": str(run_folder), **references, "OUTPUT": str(tmp_path / "b.gpkg")}
    )
    by_raster, by_folder = scores(from_raster["OUTPUT"]), scores(from_folder["OUTPUT"])
    assert by_raster == pytest.approx(by_folder)
    assert ("from-to SCD", "SeK") in by_raster and ("change / no change", "F1") in by_raster
    assert any(info.startswith("Scored 65,536 pixels against a per-date reference") for info in feedback.infos)
    assert any(info.startswith("from-to SCD: ") and "SeK" in info for info in feedback.infos), "scores in the log"
    assert any(" score " in command and command.endswith("--kind auto --json") for command in feedback.commands)


def test_a_reference_of_change_codes_gives_both_conventions_into_a_temporary_table(plugin, geo_pair, change_raster):
    results = processing.run(
        "scd:scorechanges",
        {"CHANGES": str(change_raster), "REFERENCE": str(geo_pair / "change_type.tif"), "KIND": 2,
         "OUTPUT": "TEMPORARY_OUTPUT"},
    )  # fmt: skip
    groups = {feature["group"] for feature in results["OUTPUT"].getFeatures()}
    assert groups == {"change / no change", "per-date SCD", "from-to SCD"}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "Run output folder or Change types: give one of them."),
        ({"RUN": "/nonexistent"}, "Run output folder: /nonexistent is not an scd output folder (it has no run.json)."),
    ],
)
def test_a_change_map_is_required(plugin, geo_pair, given, message):
    with pytest.raises(QgsProcessingException, match=message.replace("(", r"\(").replace(")", r"\)")):
        processing.run(
            "scd:scorechanges", {**given, "REFERENCE": str(geo_pair / "label1.tif"), "OUTPUT": "TEMPORARY_OUTPUT"}
        )


def test_the_engines_refusal_is_told_in_the_dialogs_words(plugin, geo_pair, change_raster):
    """An image given as the reference: the engine refuses it (exit 2), and the message is its own."""
    with pytest.raises(QgsProcessingException) as error:
        processing.run(
            "scd:scorechanges",
            {"CHANGES": str(change_raster), "REFERENCE": str(geo_pair / "before.tif"), "OUTPUT": "TEMPORARY_OUTPUT"},
        )
    assert "stopped with exit code" not in str(error.value) and "--" not in str(error.value)
