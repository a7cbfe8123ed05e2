"""What the analyst is told: a Help button at the README's plugin section, search tags, the device and
runtime that ran, the one-off ONNX export announced before it happens, and the engine's messages in the
dialog's words (its flags and upper-case arguments replaced by the parameters' labels)."""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlparse
from urllib.request import url2pathname

import processing
import pytest
from plugin_testing import RecordingFeedback, detect_parameters
from qgis.core import QgsApplication
from test_worker import stand_in

EXPORT_NOTICE = "exporting the model for the CPU runtime (once, ~30 s)"


def algorithm():
    return QgsApplication.processingRegistry().createAlgorithmById("scd:detectchanges")


def test_the_help_button_opens_the_readmes_plugin_section(plugin):
    url = urlparse(algorithm().helpUrl())
    assert url.scheme == "file" and url.fragment == "qgis-plugin"
    readme = url2pathname(url.path)
    assert os.path.basename(readme) == "README.md"
    with open(readme, encoding="utf-8") as handle:
        assert "\n## QGIS plugin\n" in handle.read(), "GitHub's anchor of this heading is #qgis-plugin"


def test_the_toolbox_finds_the_algorithm_by_its_tags(plugin):
    tags = algorithm().tags()
    assert "change detection" in tags and "land cover" in tags and "remote sensing" in tags


def test_the_first_run_of_a_model_announces_its_export_before_it_and_the_log_names_device_and_runtime(
    plugin, geo_pair, tiny_model, tmp_path
):
    model = tmp_path / "new.pt"
    shutil.copy(tiny_model, model)
    logs = []
    for run in ("first", "second"):
        feedback = RecordingFeedback()
        output = str(tmp_path / f"{run}.gpkg")
        processing.run("scd:detectchanges", detect_parameters(geo_pair, model, OUTPUT=output), feedback=feedback)
        logs.append(feedback.infos)
    first, second = logs
    notice = next(index for index, info in enumerate(first) if EXPORT_NOTICE in info)
    started = next(index for index, info in enumerate(first) if info.startswith("Started the worker"))
    assert notice < started
    assert not any(EXPORT_NOTICE in info for info in second), "once per model"
    assert "The model ran on cpu in onnxruntime (CPUExecutionProvider)." in second


def test_the_engines_words_become_the_dialogs_labels(plugin, tmp_path):
    from qgis_scd_plugin.worker import WorkerFailedError, run_worker

    command = stand_in(
        tmp_path,
        """
        say(event="warning", text="BEFORE's pixels are 10 m on the ground and the model was trained on 0.5 m pixels")
        say(event="error", text="--tile must be a positive multiple of 32, got 100 (see --overlap)", path=None)
        sys.exit(2)
    """,
    )
    feedback = RecordingFeedback()
    labels = {"BEFORE": "Before image", "--tile": "Tile size (pixels)", "--overlap": "Tile overlap (pixels)"}
    with pytest.raises(WorkerFailedError) as failure:
        run_worker(command, dict(os.environ), feedback, str(tmp_path), labels)
    assert (
        str(failure.value)
        == "Tile size (pixels) must be a positive multiple of 32, got 100 (see Tile overlap (pixels))"
    )
    assert feedback.warnings == [
        "Before image's pixels are 10 m on the ground and the model was trained on 0.5 m pixels"
    ], "the engine's resolution warning reaches the log"


def test_the_engines_words_are_those_of_the_parameters_labels(plugin):
    words = algorithm()._engine_words()
    assert words["--min-area"] == "Minimum area (m²)" and words["BEFORE"] == "Before image"


def test_a_worker_interrupted_by_someone_else_is_a_cancel_not_a_failure(plugin, tmp_path):
    """The engine's last event when it is interrupted: an error that says it was cancelled."""
    from qgis_scd_plugin.worker import WorkerCancelledError, run_worker

    command = stand_in(
        tmp_path,
        """
        say(event="start", total=4, out_dir="o", width=1, height=1, crs="EPSG:4326")
        say(event="error", text="interrupted", path=None, cancelled=True)
        sys.exit(143)
    """,
    )
    with pytest.raises(WorkerCancelledError):
        run_worker(command, dict(os.environ), RecordingFeedback(), str(tmp_path))
