"""``scd:trainmodel`` in real QGIS with the real engine as its worker, and through ``qgis_process``: a
small synthetic pair of four 16-bit bands, its labels as a change raster and as change polygons, each
training one tiny epoch (eight 64-pixel chips, fine-tuning the tiny checkpoint: a few seconds of
training); its checkpoint is then the model "Detect semantic changes" offers and runs."""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import processing
import pytest
from osgeo import gdal, ogr, osr
from plugin_testing import RecordingFeedback, write_raster
from qgis.core import (
    QgsApplication,
    QgsFeatureRequest,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingUtils,
    QgsSettings,
    QgsVectorLayer,
)
from test_aoi_tool import dialog_window  # noqa: F401 (a fixture)
from test_qgis_process import profile_environment, run_qgis_process  # noqa: F401 (a fixture)
from test_worker import stand_in

#: One epoch of eight 64-pixel chips, four a step.
QUICK = {"EPOCHS": 1, "CHIPS": 8, "CHIP_SIZE": 64, "BATCH_SIZE": 4}
#: Where the plugin remembers the model it trained last (qgis_scd_plugin/settings.py).
LAST_TRAINED = "scd/last_trained_model"


@pytest.fixture(scope="module", autouse=True)
def detects_own_model():
    """The model Detect offers, as it was before these tests: the other tests expect the demo model."""
    before = QgsSettings().value(LAST_TRAINED)
    yield
    if before is None:
        QgsSettings().remove(LAST_TRAINED)
    else:
        QgsSettings().setValue(LAST_TRAINED, before)


@pytest.fixture(scope="module")
def pair(scd_python, tmp_path_factory) -> Path:
    """``scd synth geo``'s 128-pixel pair of four uint16 bands, with its changes as ``change.tif`` (1
    where label1.tif names a class, 0 where it says no change, 255 nodata) and as polygons in
    ``change.gpkg`` (field ``changed``: 1 or 0)."""
    folder = tmp_path_factory.mktemp("training_pair")
    made = subprocess.run(
        [scd_python, "-m", "scd_core", "synth", "geo", str(folder), "--size", "128", "--bands", "4", "--dtype",
         "uint16"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    labels = gdal.Open(str(folder / "label1.tif"))
    values = labels.GetRasterBand(1).ReadAsArray()
    change = gdal.GetDriverByName("GTiff").Create(str(folder / "change.tif"), *values.shape[::-1], 1, gdal.GDT_Byte)
    change.SetGeoTransform(labels.GetGeoTransform())
    change.SetProjection(labels.GetProjection())
    band = change.GetRasterBand(1)
    band.WriteArray(np.where(values == 255, 255, values > 0).astype(np.uint8))
    band.SetNoDataValue(255)
    polygons = ogr.GetDriverByName("GPKG").CreateDataSource(str(folder / "change.gpkg"))
    layer = polygons.CreateLayer("change", osr.SpatialReference(labels.GetProjection()), ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("changed", ogr.OFTInteger))
    gdal.Polygonize(band, band.GetMaskBand(), layer, 0)
    polygons = change = labels = None
    return folder


def parameters(pair: Path, base_model: Path, output: Path, **more) -> dict:
    """A quick training on ``pair`` that fine-tunes ``base_model``, its labels the change raster."""
    images = {"BEFORE": str(pair / "before.tif"), "AFTER": str(pair / "after.tif")}
    return {**images, "LABELS": str(pair / "change.tif"), "BASE_MODEL": str(base_model), **QUICK,
            "OUTPUT": str(output), **more}  # fmt: skip


def work_folders() -> set:
    return set(glob.glob(os.path.join(QgsProcessingUtils.tempFolder(), "scd_train_*")))


@pytest.fixture(scope="module")
def trained(plugin, pair, tiny_model, tmp_path_factory) -> tuple[dict, RecordingFeedback, set]:
    """One training on the change raster: its results, its feedback and the work folders it left."""
    feedback = RecordingFeedback()
    before = work_folders()
    output = tmp_path_factory.mktemp("trained") / "my model.pt"
    results = processing.run("scd:trainmodel", parameters(pair, tiny_model, output), feedback=feedback)
    return results, feedback, work_folders() - before


def checkpoint_metadata(scd_python: str, path: str) -> dict:
    """The checkpoint's metadata, read by the engine (scd_core.checkpoint.read) in the backend."""
    code = "import json, sys; from scd_core import checkpoint; print(json.dumps(checkpoint.read(sys.argv[1])[1]))"
    done = subprocess.run([scd_python, "-c", code, path], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_each_epoch_is_progress_and_a_line_of_its_scores(plugin, tmp_path):
    """A semantic model's epochs (a stand-in worker): change F1 and SeK in both conventions, in percent."""
    from qgis_scd_plugin.worker import run_worker

    scores = {"change": {"F1": 62.34}, "per_date": {"SeK": 21.04}, "from_to": {"SeK": 18.31}}
    command = stand_in(
        tmp_path,
        f"""
        for number in (1, 2):
            say(event="epoch", number=number, epochs=2, loss=0.4123, scores={scores!r})
        say(event="trained", model="run/model.pt", run_dir="run", epochs=2, scores={scores!r})
    """,
    )
    feedback = RecordingFeedback()
    trained = run_worker(command, dict(os.environ), feedback, str(tmp_path))
    assert (trained["event"], trained["model"]) == ("trained", "run/model.pt")
    assert feedback.progress_seen == [50.0, 100.0]
    assert feedback.infos[-1] == "epoch 2/2: loss 0.41, change F1 62.3, per-date SeK 21.0, from-to SeK 18.3"


def test_a_change_raster_trains_a_change_model_with_progress_by_epoch(trained, scd_python):
    results, feedback, left = trained
    model, run_folder = Path(results["OUTPUT"]), Path(results["RUN_FOLDER"])
    assert model.is_file() and run_folder == model.with_name("my model_run")
    assert {"config.yaml", "log.txt", "metrics.jsonl", "last.pt", "model.pt"} <= {p.name for p in run_folder.iterdir()}
    metadata = checkpoint_metadata(scd_python, str(model))
    assert metadata["task"] == "change" and metadata["epochs"] == 1
    assert any(re.fullmatch(r"epoch 1/1: loss \d+\.\d\d, change F1 \d+\.\d", info) for info in feedback.infos)
    assert feedback.progress_seen[-1] == pytest.approx(100.0)
    (command,) = feedback.commands
    assert " train " in command and " --init " in command and command.endswith(" --progress json")
    assert " --epochs 1 --chips 8 --chip-size 64 --batch-size 4 " in command
    assert left == set(), "the work folder is removed"


def test_detect_offers_the_trained_model_and_runs_it(trained, pair, tmp_path):
    model = trained[0]["OUTPUT"]
    detect = QgsApplication.processingRegistry().createAlgorithmById("scd:detectchanges")
    assert detect.parameterDefinition("MODEL").defaultValue() == model
    feedback = RecordingFeedback()
    images = {"BEFORE": str(pair / "before.tif"), "AFTER": str(pair / "after.tif")}
    results = processing.run(
        "scd:detectchanges", {**images, "RUNTIME": 1, "OUTPUT": str(tmp_path / "changes.gpkg")}, feedback=feedback
    )
    assert f" --model '{model}' " in feedback.commands[0]
    assert QgsVectorLayer(results["OUTPUT"], "changes", "ogr").isValid()


def test_the_detection_dialog_opens_with_the_trained_model_and_cleared_runs_the_demo(
    trained,
    plugin,
    pair,
    tmp_path,
    dialog_window,  # noqa: F811
):
    from qgis_scd_plugin.paths import DEMO_MODEL

    plugin.open_detect_dialog()
    try:
        model = plugin.detect_dialog.mainWidget().wrappers["MODEL"]
        assert model.parameterValue() == trained[0]["OUTPUT"]
        model.setParameterValue("", QgsProcessingContext())
        cleared = model.parameterValue()
    finally:
        plugin.detect_dialog.close()
    feedback = RecordingFeedback()
    images = {"BEFORE": str(pair / "before.tif"), "AFTER": str(pair / "after.tif")}
    processing.run(
        "scd:detectchanges",
        {**images, "MODEL": cleared, "RUNTIME": 1, "OUTPUT": str(tmp_path / "changes.gpkg")},
        feedback=feedback,
    )
    assert f" --model {DEMO_MODEL} " in feedback.commands[0]


def test_change_polygons_of_a_memory_layer_train_by_their_change_field(plugin, pair, tiny_model, tmp_path):
    """Polygons that are no file: exported for the worker, and read by their change field."""
    memory = QgsVectorLayer(str(pair / "change.gpkg"), "change", "ogr").materialize(QgsFeatureRequest())
    assert memory.providerType() == "memory" and memory.featureCount() > 0
    feedback = RecordingFeedback()
    output = tmp_path / "polygons.pt"
    polygons = {"LABELS": None, "POLYGONS": memory, "CHANGE_FIELD": "changed"}
    processing.run("scd:trainmodel", parameters(pair, tiny_model, output, **polygons), feedback=feedback)
    assert output.is_file()
    assert " --change-field changed " in feedback.commands[0]
    assert any(info.startswith("epoch 1/1: loss ") for info in feedback.infos)


def test_land_cover_polygons_are_read_by_their_class_field_and_a_bad_class_named(plugin, pair, tiny_model, tmp_path):
    """The change polygons as the land cover of both dates: their field holds 0, which is no class."""
    polygons = str(pair / "change.gpkg")
    land_cover = {"LABELS": None, "POLYGONS": polygons, "LAND_COVER_AFTER": polygons, "CLASS_FIELD": "changed"}
    feedback, values = RecordingFeedback(), parameters(pair, tiny_model, tmp_path / "m.pt", **land_cover)
    with pytest.raises(QgsProcessingException, match=f"^{re.escape(polygons)}: .*field 'changed' holds 0"):
        processing.run("scd:trainmodel", values, feedback=feedback)
    assert " --class-field changed " in feedback.commands[0]


def test_a_label_raster_that_misses_the_images_is_refused_naming_it(plugin, pair, tiny_model, tmp_path):
    elsewhere = write_raster(tmp_path / "elsewhere.tif", np.ones((1, 32, 32), np.uint8))
    output = tmp_path / "model.pt"
    with pytest.raises(QgsProcessingException) as error:
        processing.run("scd:trainmodel", parameters(pair, tiny_model, output, LABELS=str(elsewhere)))
    assert str(elsewhere) in str(error.value) and "does not overlap" in str(error.value)
    assert "--" not in str(error.value), "the engine's options are named by the dialog's labels"
    assert not output.exists() and not (tmp_path / "model_run").exists()


def test_cancel_stops_the_training_and_leaves_no_checkpoint(plugin, pair, tiny_model, tmp_path):
    """Cancelled after the first of two epochs, when the unfinished run already holds a checkpoint."""
    feedback = RecordingFeedback()
    feedback.progressChanged.connect(lambda progress: feedback.cancel() if progress > 0 else None)
    output = tmp_path / "model.pt"
    before = work_folders()
    with pytest.raises(QgsProcessingException, match=r"^Cancelled"):
        processing.run("scd:trainmodel", parameters(pair, tiny_model, output, EPOCHS=2), feedback=feedback)
    assert any(info.startswith("epoch 1/2: ") for info in feedback.infos)
    pid = int(re.search(r"process (\d+)", " ".join(feedback.infos)).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not output.exists() and not (tmp_path / "model_run").exists()
    assert work_folders() == before


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"PAIRS": "{pair}/pairs.csv"}, "Pairs table (PAIRS.csv, instead of the above) or the images and labels"),
        ({"LABELS": None}, "Labels (raster) or Labels (polygons): give one of them."),
        ({"LABELS": None, "POLYGONS": "{pair}/change.gpkg", "FROM_FIELD": "changed"}, "From field and To field"),
        ({"LABELS": None, "POLYGONS": "{pair}/change.gpkg", "LAND_COVER_AFTER": "{pair}/change.gpkg"},
         "Land cover after (polygons) and Class field: land cover polygons of both dates need both."),
        ({"EPOCHS": 0}, "Epochs: must be at least 1, got 0."),
        ({"CHIP_SIZE": 50}, "Chip size (pixels): must be a positive multiple of 32, got 50."),
    ],
)  # fmt: skip
def test_values_the_run_cannot_use_are_refused_in_the_dialogs_words(plugin, pair, tiny_model, tmp_path, given, message):
    (pair / "pairs.csv").touch()
    values = {name: value.format(pair=pair) if isinstance(value, str) else value for name, value in given.items()}
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:trainmodel")
    accepted, problem = algorithm.checkParameterValues(
        {**parameters(pair, tiny_model, tmp_path / "m.pt"), **values}, QgsProcessingContext()
    )
    assert not accepted and problem.startswith(message), problem


def test_the_parameters_are_the_engines_options(plugin):
    from qgis_scd_plugin.shared import vocabulary

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:trainmodel")
    epochs = algorithm.parameterDefinition("EPOCHS")
    option = vocabulary.OPTIONS["epochs"]
    assert (epochs.description(), epochs.defaultValue(), epochs.minimum()) == (option.label, option.default, 1)
    assert algorithm.parameterDefinition("CHIP_SIZE").minimum() == vocabulary.TILE_MULTIPLE
    for definition in algorithm.parameterDefinitions():
        assert len(definition.help()) > 20, definition.name()
    assert algorithm.parameterDefinition("CHANGE_FIELD").parentLayerParameterName() == "POLYGONS"


def test_qgis_process_trains_and_detect_then_offers_the_model(profile_environment, pair, tiny_model, tmp_path):  # noqa: F811
    output = tmp_path / "shell.pt"
    values = parameters(pair, tiny_model, output)
    run = run_qgis_process(["run", "scd:trainmodel", "--", *(f"{name}={value}" for name, value in values.items())],
                           profile_environment)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"OUTPUT:\t{output}" in run.stdout and output.is_file()
    described = json.loads(run_qgis_process(["--json", "help", "scd:detectchanges"], profile_environment).stdout)
    assert described["parameters"]["MODEL"]["default_value"] == str(output), "the profile remembers it"
