"""``scd:detectseries`` in real QGIS with the real engine as its worker, and through ``qgis_process``:
three dated images (the third a copy of the second), the series folder, and its period rasters loaded
paletted with the periods' names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import processing
import pytest
from plugin_testing import REPO, RecordingFeedback
from qgis.core import QgsApplication, QgsPalettedRasterRenderer, QgsProcessingContext, QgsProject, QgsRasterLayer
from test_qgis_process import profile_environment, run_qgis_process  # noqa: F401 (a fixture)


@pytest.fixture(scope="module")
def series_inputs(scd_python, tmp_path_factory):
    """Three 128² images (a synthetic pair and a copy of its second date) and a model that sees no change
    between identical images, made by the backend Python (tests/core/series_testing.py)."""
    folder = tmp_path_factory.mktemp("series")
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[2]); "
        "from series_testing import copy_checkpoint, three_dates; "
        "print(*three_dates(Path(sys.argv[1]) / 'dates'), copy_checkpoint(Path(sys.argv[1]) / 'copy.pt'))"
    )
    done = subprocess.run(
        [scd_python, "-c", code, str(folder), str(REPO / "tests" / "core")],
        capture_output=True, text=True, timeout=300, cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    *images, model = done.stdout.split()
    return images, model


def series_parameters(images, model, folder, **more):
    return {"RASTERS": images, "MODEL": model, "TILE_SIZE": 128, "DEVICE": 1, "OUTPUT_FOLDER": str(folder), **more}


def test_detect_series_writes_the_folder_and_loads_the_period_rasters_with_a_date_legend(
    plugin, series_inputs, tmp_path
):
    images, model = series_inputs
    project = QgsProject.instance()
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = RecordingFeedback()
    folder = tmp_path / "series"
    results = processing.run(
        "scd:detectseries",
        series_parameters(images, model, folder, DATES="2021,2022,2023"),
        context=context,
        feedback=feedback,
    )
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["2021_2022", "2022_2023"]
    assert results["FIRST_CHANGE"] == str(folder / "first_change.tif")
    assert any("2 periods: 2021 → 2022, 2022 → 2023" in info for info in feedback.infos)
    layer = QgsRasterLayer(results["FIRST_CHANGE"], "first")
    assert layer.loadDefaultStyle()[1]  # the .qml beside it
    renderer = layer.renderer()
    assert isinstance(renderer, QgsPalettedRasterRenderer)
    assert [(int(c.value), c.label) for c in renderer.classes()] == [
        (0, "never"),
        (1, "2021 → 2022"),
        (2, "2022 → 2023"),
    ]
    assert renderer.classes()[0].color.alpha() == 0
    loaded = {details.name for details in context.layersToLoadOnCompletion().values()}
    assert {"First change", "Last change", "Periods with change", "Changes by period"} <= loaded

    again = RecordingFeedback()
    processing.run("scd:detectseries", series_parameters(images, model, folder, DATES="2021,2022,2023"),
                   feedback=again)  # fmt: skip
    assert sum("skipped" in info for info in again.infos) == 2


@pytest.mark.parametrize(
    ("more", "problem"),
    [
        ({"RASTERS": "first"}, "choose two images or more"),
        ({"DATES": "2021,2022"}, "give one date per image (3)"),
        ({"MASK_VALUES": "3,8"}, "choose Masks"),
    ],
)
def test_bad_values_are_refused_in_the_dialogs_words(plugin, series_inputs, tmp_path, more, problem):
    images, model = series_inputs
    parameters = series_parameters(images, model, tmp_path / "out", **more)
    if more.get("RASTERS") == "first":
        parameters["RASTERS"] = images[:1]
    algorithm = QgsApplication.processingRegistry().algorithmById("scd:detectseries")
    ok, message = algorithm.checkParameterValues(parameters, QgsProcessingContext())
    assert not ok and problem in message
    assert not (tmp_path / "out").exists()


def test_qgis_process_runs_a_series_from_the_shell(plugin, profile_environment, series_inputs, tmp_path):  # noqa: F811
    images, model = series_inputs
    folder = tmp_path / "series"
    listing = run_qgis_process(["help", "scd:detectseries"], profile_environment).stdout
    assert "RASTERS" in listing and "OUTPUT_FOLDER" in listing
    run = run_qgis_process(
        ["run", "scd:detectseries", "--", *(f"RASTERS={image}" for image in images), f"MODEL={model}",
         "TILE_SIZE=128", "PAIRS=1", f"OUTPUT_FOLDER={folder}"],
        profile_environment,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["1_2", "1_3"]
    assert Path(folder / "first_change.qml").is_file() and "FIRST_CHANGE" in run.stdout
