"""The values an analyst gives, read and checked before the worker starts, in the dialog's words:
MODEL (empty: the demo model; relative: the caller's folder; .onnx), BANDS typed as text, SCALE, RUNTIME, MMU, MIN_AREA
and its default, tiling and threshold, and a warning when both dates are one image."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import processing
import pytest
from plugin_testing import RecordingFeedback, detect_parameters
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingException, QgsProcessingUtils


def work_folders() -> set:
    return set(glob.glob(os.path.join(QgsProcessingUtils.tempFolder(), "scd_detect_*")))


def worker_command(feedback: RecordingFeedback) -> str:
    """The ``scd detect`` command the run gave the worker."""
    return next(command for command in feedback.commands if " detect " in command)


def refusal(parameters: dict) -> str:
    """What checkParameterValues says of ``parameters`` (as the dialog, processing.run and qgis_process ask it)."""
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:detectchanges")
    accepted, message = algorithm.checkParameterValues(parameters, QgsProcessingContext())
    assert not accepted
    return message


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("3,2,1", [3, 2, 1]), ("3;2;1", [3, 2, 1]), (" 3 2 1 ", [3, 2, 1]), ([3, 2, 1], [3, 2, 1]), ("", []), (None, [])],
)
def test_bands_are_read_as_typed_or_as_the_dialogs_list(plugin, typed, expected):
    from qgis_scd_plugin.options import parse_bands

    assert parse_bands(typed) == expected


def test_typed_bands_scale_and_the_default_minimum_area_reach_the_worker(plugin, geo_pair, tiny_model, tmp_path):
    """BANDS as qgis_process passes it, the text "3,2,1" (QGIS's own reading of it is [0]), and SCALE."""
    feedback = RecordingFeedback()
    processing.run(
        "scd:detectchanges",
        detect_parameters(geo_pair, tiny_model, BANDS="3,2,1", SCALE="0, 255", OUTPUT=str(tmp_path / "changes.gpkg")),
        feedback=feedback,
    )
    command = worker_command(feedback)
    assert " --bands 3,2,1 " in command and " --scale 0.0,255.0 " in command and " --min-area 10.0 " in command


def test_an_onnx_model_runtime_minimum_mapping_unit_and_per_date_scale_reach_the_worker(
    plugin, geo_pair, tiny_onnx, tmp_path
):
    """MODEL takes scd export's .onnx; RUNTIME, MMU and SCALE's auto-per-date become the engine's flags."""
    feedback = RecordingFeedback()
    output = tmp_path / "changes.gpkg"
    processing.run(
        "scd:detectchanges",
        detect_parameters(geo_pair, tiny_onnx, RUNTIME=2, MMU=4, SCALE="Auto-per-date", OUTPUT=str(output)),
        feedback=feedback,
    )
    command = worker_command(feedback)
    assert f" --model {tiny_onnx} " in command
    assert " --runtime onnxruntime " in command and " --mmu 4 " in command and " --scale auto-per-date " in command
    assert output.is_file()


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ("3,2,9", "Bands: the before image 'before' has 3 bands, so band 9 does not exist; choose bands from 1 to 3."),
        ("3,a", "Bands: '3,a' is not a list of band numbers such as 3,2,1."),
        ("0,1,2", "Bands: band numbers start at 1; got 0."),
    ],
)
def test_bands_that_cannot_be_read_are_refused_before_the_worker_starts(
    plugin, geo_pair, tiny_model, tmp_path, bands, message
):
    output = tmp_path / "changes.gpkg"
    before = work_folders()
    with pytest.raises(QgsProcessingException) as error:
        processing.run("scd:detectchanges", detect_parameters(geo_pair, tiny_model, BANDS=bands, OUTPUT=str(output)))
    assert message in str(error.value)
    assert not output.exists() and work_folders() == before


@pytest.mark.parametrize(
    ("more", "message"),
    [
        ({"SCALE": "bright"}, "Scale (auto, auto-per-date, none or LOW,HIGH): type auto, auto-per-date, none, or the"),
        ({"SCALE": "3000,0"}, "with LOW below HIGH; got '3000,0'."),
        ({"TILE_SIZE": 100}, "Tile size (pixels): must be a positive multiple of 32, got 100."),
        ({"TILE_SIZE": 128, "OVERLAP": 100}, "Tile overlap (pixels): at most half the tile size (64 pixels"),
        ({"THRESHOLD": 0}, "Change threshold: must lie in (0, 1), got 0."),
        ({"MODEL": "missing.pt"}, "Model checkpoint (empty: the bundled demo model): the file 'missing.pt' does not"),
        ({"MIN_AREA": -1}, "Minimum area (m²): must be at least 0, got -1."),
        ({"MMU": -1}, "Minimum mapping unit (pixels): must be at least 0, got -1."),
        ({"THRESHOLD": 1.5}, "Change threshold: must lie in (0, 1), got 1.5."),
        ({"BATCH_SIZE": 0}, "Batch size: must be at least 1, got 0."),
        ({"OVERLAP": -8}, "Tile overlap (pixels): must be at least 0, got -8."),
        ({"TILE_SIZE": -32}, "Tile size (pixels): must be a positive multiple of 32, got -32."),
        ({"RUNTIME": 7}, "Runtime: choose one of 0 (auto), 1 (torch), 2 (onnxruntime); got 7."),
        ({"RUNTIME": "7"}, "Runtime: choose one of 0 (auto), 1 (torch), 2 (onnxruntime); got '7'."),
        ({"DECODE": 2}, "Class decoding: choose one of 0 (distinct), 1 (paper); got 2."),
        ({"MMU": "abc"}, "Minimum mapping unit (pixels): type a whole number or leave it empty; got 'abc'."),
        ({"MMU": 2.5}, "Minimum mapping unit (pixels): type a whole number or leave it empty; got 2.5."),
        ({"TILE_SIZE": "abc"}, "Tile size (pixels): type a whole number or leave it empty; got 'abc'."),
        ({"THRESHOLD": "half"}, "Change threshold: type a number or leave it empty; got 'half'."),
        ({"AFTER": None}, "After image: choose the later image, a raster layer or file."),
    ],
)
def test_bad_values_are_refused_in_the_dialogs_words(plugin, geo_pair, tiny_model, tmp_path, more, message):
    assert message in refusal(detect_parameters(geo_pair, tiny_model, OUTPUT=str(tmp_path / "c.gpkg"), **more))


def test_a_refusal_is_the_plugins_own_words_not_qgiss_generic_ones(plugin, geo_pair, tiny_model, tmp_path):
    """A value outside a parameter's range got QGIS's "Incorrect parameter value for MIN_AREA"."""
    message = refusal(detect_parameters(geo_pair, tiny_model, MIN_AREA=-1, OUTPUT=str(tmp_path / "c.gpkg")))
    assert "Incorrect parameter value" not in message and "MIN_AREA" not in message


def test_text_that_is_no_number_is_refused_before_the_worker_starts_not_run_as_0(
    plugin, geo_pair, tiny_model, tmp_path
):
    """MMU=abc ran silently as MMU 0; TILE_SIZE=abc failed in the worker, in command-line words."""
    for typed in ({"MMU": "abc"}, {"TILE_SIZE": "abc"}):
        feedback = RecordingFeedback()
        parameters = detect_parameters(geo_pair, tiny_model, OUTPUT=str(tmp_path / "c.gpkg"), **typed)
        with pytest.raises(QgsProcessingException, match="type a whole number or leave it empty; got 'abc'"):
            processing.run("scd:detectchanges", parameters, feedback=feedback)
        assert not feedback.commands and not (tmp_path / "c.gpkg").exists()


def test_an_onnx_model_with_the_torch_runtime_is_refused_before_the_worker_starts(
    plugin, geo_pair, tiny_onnx, tmp_path
):
    message = refusal(detect_parameters(geo_pair, tiny_onnx, RUNTIME=1, OUTPUT=str(tmp_path / "c.gpkg")))
    assert message == (
        "Runtime: torch cannot run an ONNX model (tiny.onnx); choose auto or onnxruntime, or a .pt checkpoint "
        "as Model checkpoint (empty: the bundled demo model)."
    )


def test_cuda_on_a_backend_without_a_gpu_is_refused_before_the_worker_starts(
    plugin, geo_pair, tiny_model, tmp_path, scd_python
):
    from qgis_scd_plugin.backend_setup import parse_report, probe_command

    if parse_report(subprocess.run(probe_command(scd_python), capture_output=True, text=True).stdout).cuda_devices:
        pytest.skip("the backend has a GPU")
    feedback = RecordingFeedback()
    parameters = detect_parameters(geo_pair, tiny_model, DEVICE=2, OUTPUT=str(tmp_path / "c.gpkg"))
    with pytest.raises(QgsProcessingException, match=r"^Device: cuda was chosen, but the backend's PyTorch \("):
        processing.run("scd:detectchanges", parameters, feedback=feedback)
    assert not feedback.commands and not (tmp_path / "c.gpkg").exists()


def test_the_class_decoding_reaches_the_worker(plugin, geo_pair, tiny_model, tmp_path):
    feedback = RecordingFeedback()
    processing.run(
        "scd:detectchanges",
        detect_parameters(geo_pair, tiny_model, DECODE=1, OUTPUT=str(tmp_path / "changes.gpkg")),
        feedback=feedback,
    )
    assert " --decode paper " in worker_command(feedback)


def test_every_parameter_has_help_and_the_help_panel_is_short(plugin):
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:detectchanges")
    for definition in algorithm.parameterDefinitions():
        assert len(definition.help()) > 20, definition.name()
    assert len(algorithm.shortHelpString()) < 1500


def test_the_demo_model_runs_when_model_is_left_out(plugin, geo_pair, tmp_path):
    """processing.run without MODEL (QGIS 3.22 applies no File default outside the dialog)."""
    from qgis_scd_plugin.paths import DEMO_MODEL

    parameters = detect_parameters(geo_pair, tmp_path, OUTPUT=str(tmp_path / "changes.gpkg"))
    del parameters["MODEL"]
    feedback = RecordingFeedback()
    processing.run("scd:detectchanges", parameters, feedback=feedback)
    assert f" --model {DEMO_MODEL} " in worker_command(feedback)
    assert DEMO_MODEL.is_file() and DEMO_MODEL.is_relative_to(DEMO_MODEL.parents[2]), "the installed plugin's own copy"


def test_a_relative_model_is_read_from_the_callers_folder(plugin, geo_pair, tiny_model, tmp_path, monkeypatch):
    shutil.copy(tiny_model, tmp_path / "mine.pt")
    monkeypatch.chdir(tmp_path)
    feedback = RecordingFeedback()
    processing.run(
        "scd:detectchanges",
        detect_parameters(geo_pair, tiny_model, MODEL="mine.pt", OUTPUT="changes.gpkg"),
        feedback=feedback,
    )
    assert f" --model {tmp_path / 'mine.pt'} " in worker_command(feedback)
    assert (tmp_path / "changes.gpkg").is_file()


def test_the_same_image_twice_is_run_with_a_warning(plugin, geo_pair, tiny_model, tmp_path):
    feedback = RecordingFeedback()
    same = detect_parameters(geo_pair, tiny_model, OUTPUT=str(tmp_path / "changes.gpkg"))
    same["AFTER"] = same["BEFORE"]
    processing.run("scd:detectchanges", same, feedback=feedback)
    assert any("the same image" in warning and "nothing can have changed" in warning for warning in feedback.warnings)
    assert feedback.warnings[0].startswith("The before and after images are the same image"), "warned before the run"


def test_a_run_that_skips_the_dialogs_check_is_refused_all_the_same(plugin, geo_pair, tiny_model, tmp_path):
    """QgsProcessingAlgorithm.run(), as the batch dialog and models call it, does not ask
    checkParameterValues; processAlgorithm checks again, before the worker starts."""
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:detectchanges")
    feedback = RecordingFeedback()
    parameters = detect_parameters(geo_pair, tiny_model, BANDS="1,2,7", OUTPUT=str(tmp_path / "c.gpkg"))
    with pytest.raises(QgsProcessingException, match="band 7 does not exist"):
        algorithm.run(parameters, QgsProcessingContext(), feedback, catchExceptions=False)
    assert not feedback.commands and not (tmp_path / "c.gpkg").exists()
