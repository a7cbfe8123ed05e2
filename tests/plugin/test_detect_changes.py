"""``scd:detectchanges`` end to end in real QGIS with the real engine as its worker: a synthetic
georeferenced pair, a tiny untrained checkpoint, a GeoPackage of from-to polygons, styled."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import time
from pathlib import Path

import processing
import pytest
from plugin_testing import TEST_CRS, RecordingFeedback
from plugin_testing import detect_parameters as parameters
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsFields,
    QgsGeometry,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingUtils,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)


def work_folders() -> set:
    return set(glob.glob(os.path.join(QgsProcessingUtils.tempFolder(), "scd_detect_*")))


def test_detect_changes_writes_from_to_polygons_styled_in_a_geopackage(plugin, geo_pair, tiny_model, tmp_path):
    from qgis_scd_plugin.shared import legend

    output, codes = tmp_path / "changes.gpkg", tmp_path / "change_type.tif"
    feedback = RecordingFeedback()
    before = work_folders()
    results = processing.run(
        "scd:detectchanges",
        parameters(geo_pair, tiny_model, OUTPUT=str(output), OUTPUT_RASTER=str(codes)),
        feedback=feedback,
    )
    assert results["OUTPUT"] == str(output) and results["OUTPUT_RASTER"] == str(codes)
    assert feedback.progress_seen[-1] == pytest.approx(100.0)
    assert any(info.startswith("Detecting changes on a 256 × 256 pixel grid") for info in feedback.infos)

    layer = QgsVectorLayer(f"{output}|layername=changes", "changes", "ogr")
    assert layer.isValid() and layer.crs().authid() == TEST_CRS
    assert layer.featureCount() > 0
    names = {change.code: change for change in legend.change_types()}
    for feature in layer.getFeatures():
        change = names[feature["change_type"]]
        assert (feature["from_class"], feature["to_class"]) == (change.from_class.index, change.to_class.index)
        assert (feature["from_name"], feature["to_name"]) == (change.from_class.name, change.to_class.name)
        assert feature["area_m2"] > 0 and feature.geometry().area() > 0
    renderer = layer.renderer()
    assert renderer.type() == "categorizedSymbol" and renderer.classAttribute() == "change_type"
    held = sorted({feature["change_type"] for feature in layer.getFeatures()})
    assert [category.label() for category in renderer.categories()] == [names[code].label for code in held]

    raster = QgsRasterLayer(str(codes), "codes")
    assert raster.isValid() and raster.crs().authid() == TEST_CRS
    assert raster.renderer().type() == "paletted"
    assert work_folders() == before, "the worker's temporary folder is removed"


def test_results_load_on_the_map_named_after_the_images_and_styled(plugin, geo_pair, tiny_model, tmp_path):
    project = QgsProject.instance()
    before_layer = QgsRasterLayer(str(geo_pair / "before.tif"), "ortho 2019")
    after_layer = QgsRasterLayer(str(geo_pair / "after.tif"), "ortho 2021")
    project.addMapLayers([before_layer, after_layer])
    try:
        processing.runAndLoadResults(
            "scd:detectchanges",
            {
                **parameters(geo_pair, tiny_model),
                "BEFORE": before_layer.id(),
                "AFTER": after_layer.id(),
                "OUTPUT": str(tmp_path / "changes.gpkg"),
                "OUTPUT_MATRIX": "TEMPORARY_OUTPUT",
                "OUTPUT_RASTER": str(tmp_path / "codes.tif"),
                "OUTPUT_PROBABILITY": str(tmp_path / "probability.tif"),
                "OUTPUT_AFTER_CLASSES": str(tmp_path / "after_classes.tif"),
            },
        )
        loaded = {layer.name(): layer for layer in project.mapLayers().values()}
        polygons = loaded["Changes ortho 2019 → ortho 2021"]
        assert polygons.renderer().type() == "categorizedSymbol"
        assert polygons.featureCount() > 0
        assert "Change threshold" in polygons.metadata().abstract()
        codes = loaded["Change types ortho 2019 → ortho 2021"]
        assert codes.renderer().type() == "paletted"
        matrix = loaded["Change matrix ortho 2019 → ortho 2021 (ha)"]
        assert not matrix.isSpatial() and matrix.featureCount() == 7
        probability = loaded["Change probability ortho 2019 → ortho 2021"]
        assert probability.renderer().type() == "singlebandpseudocolor"
        assert "Change threshold" in probability.metadata().abstract(), "the metadata beside the file is read"
        assert loaded["Classes of ortho 2021 where changed"].renderer().type() == "paletted"
    finally:
        project.clear()


def test_cancel_stops_the_worker_within_two_seconds_and_leaves_no_output(plugin, geo_pair, tiny_model, tmp_path):
    output, codes = tmp_path / "changes.gpkg", tmp_path / "codes.tif"
    feedback = RecordingFeedback()
    cancelled_at = []

    def cancel_once_tiles_are_done(progress: float) -> None:
        if progress > 0 and not cancelled_at:
            cancelled_at.append(time.monotonic())
            feedback.cancel()

    feedback.progressChanged.connect(cancel_once_tiles_are_done)
    before = work_folders()
    # 64 tiles of 32 pixels, one per batch: the worker is still busy when the first is done.
    slow = parameters(
        geo_pair, tiny_model, TILE_SIZE=32, OVERLAP=0, BATCH_SIZE=1, OUTPUT=str(output), OUTPUT_RASTER=str(codes)
    )
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run("scd:detectchanges", slow, feedback=feedback)
    assert cancelled_at, "the worker reported progress"
    assert time.monotonic() - cancelled_at[0] < 2.0
    pid = int(re.search(r"process (\d+)", " ".join(feedback.infos)).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not output.exists() and not codes.exists()
    assert work_folders() == before


def test_a_worker_failure_carries_the_workers_message(plugin, geo_pair, tmp_path):
    not_a_model = tmp_path / "model.pt"
    not_a_model.write_bytes(b"this is no checkpoint")
    with pytest.raises(QgsProcessingException) as error:
        processing.run(
            "scd:detectchanges",
            {
                "BEFORE": str(geo_pair / "before.tif"),
                "AFTER": str(geo_pair / "after.tif"),
                "MODEL": str(not_a_model),
                "OUTPUT": str(tmp_path / "c.gpkg"),
            },
        )
    assert str(not_a_model) in str(error.value)
    assert not (tmp_path / "c.gpkg").exists()


def top_left_quarter(raster: Path) -> QgsRectangle:
    extent = QgsRasterLayer(str(raster), "raster").extent()
    return QgsRectangle(extent.xMinimum(), extent.center().y(), extent.center().x(), extent.yMaximum())


def write_aoi(path: Path, rectangle: QgsRectangle) -> Path:
    """A GeoPackage holding one AOI polygon."""
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    writer = QgsVectorFileWriter.create(
        str(path),
        QgsFields(),
        QgsWkbTypes.Polygon,
        QgsCoordinateReferenceSystem(TEST_CRS),
        QgsCoordinateTransformContext(),
        options,
    )
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromRect(rectangle))
    assert writer.addFeature(feature)
    del writer
    return path


def run_as_batch(rows: list) -> list:
    """Run each row with one algorithm instance, as the batch dialog does; whether each succeeded.

    QGIS objects that a failed test's traceback keeps alive are destroyed after QGIS has exited, which
    crashes it; so the instance lives only in here, and the AOI is a file rather than a memory layer.
    """
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:detectchanges")
    return [algorithm.run(row, QgsProcessingContext(), RecordingFeedback())[1] for row in rows]


def test_batch_runs_many_pairs_through_one_algorithm_each_in_its_area(
    plugin, geo_pair, tiny_model, scd_python, tmp_path
):
    """What the Processing batch interface does: one algorithm instance, one run per row."""
    second_pair = tmp_path / "second_pair"
    subprocess.run(
        [
            scd_python,
            "-m",
            "scd_core",
            "synth",
            "geo",
            str(second_pair),
            "--size",
            "128",
            "--seed",
            "8",
            "--crs",
            TEST_CRS,
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    quarter = top_left_quarter(geo_pair / "before.tif")
    aoi = write_aoi(tmp_path / "aoi.gpkg", quarter)
    assert (
        QgsApplication.processingRegistry().algorithmById("scd:detectchanges").flags()
        & QgsProcessingAlgorithm.FlagSupportsBatch
    )
    rows = [
        parameters(second_pair, tiny_model, OUTPUT=str(tmp_path / "second.gpkg")),
        parameters(geo_pair, tiny_model, AOI=str(aoi), OUTPUT=str(tmp_path / "first_quarter.gpkg")),
    ]
    assert run_as_batch(rows) == [True, True]
    second = QgsVectorLayer(str(tmp_path / "second.gpkg"), "second", "ogr")
    assert second.featureCount() > 0 and second.extent().width() <= 128 * 0.5 + 1e-6
    first_quarter = QgsVectorLayer(str(tmp_path / "first_quarter.gpkg"), "quarter", "ogr")
    assert first_quarter.featureCount() > 0
    assert quarter.buffered(1.0).contains(first_quarter.extent()), "the AOI limits the run"
