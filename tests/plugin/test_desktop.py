"""The plugin in the real QGIS desktop under Xvfb, as analysts use it: desktop_session.py, run by QGIS
at start-up, drives Processing's own dialog through four runs in one session (every output twice, both
class rasters included; temporary outputs; a CSV matrix) and a batch of three rows, each loading its
layers on completion. Every run must finish without an error in the dialog's log, its layers loaded
and styled; the screenshots it takes must show something, and are not kept."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from qgis.PyQt.QtGui import QImage

SESSION = Path(__file__).with_name("desktop_session.py")
#: QGIS's first-run questions, answered, and the plugin enabled.
SETTINGS = """[PythonPlugins]
qgis_scd_plugin=true
[qgis]
checkVersion=false
showTips=false
showTips322=false
"""
STYLED = {
    "Changes before → after": "categorizedSymbol",
    "Change types before → after": "paletted",
    "Change probability before → after": "singlebandpseudocolor",
    "Classes of before where changed": "paletted",
    "Classes of after where changed": "paletted",
}


@pytest.fixture(scope="module")
def session(plugin_zip, geo_pair, tiny_model, scd_python, tmp_path_factory) -> tuple[dict, Path]:
    """One desktop session's report, and the folder of its screenshots."""
    if not shutil.which("xvfb-run"):
        pytest.fail("xvfb-run is missing: scripts/setup_qgis.sh installs Debian's xvfb")
    profiles = tmp_path_factory.mktemp("desktop")
    profile = profiles / "profiles" / "default"
    (profile / "QGIS").mkdir(parents=True)
    (profile / "QGIS" / "QGIS3.ini").write_text(SETTINGS, encoding="utf-8")
    with zipfile.ZipFile(plugin_zip) as archive:
        archive.extractall(profile / "python" / "plugins")
    out = profiles / "out"
    out.mkdir()
    environment = dict(
        os.environ,
        SCD_PYTHON=scd_python,
        SCD_DESKTOP_PAIR=str(geo_pair),
        SCD_DESKTOP_MODEL=str(tiny_model),
        SCD_DESKTOP_OUT=str(out),
    )
    environment.pop("QT_QPA_PLATFORM", None)  # the desktop draws on the X server, not offscreen
    command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "qgis", "--profiles-path", str(profiles),
               "--nologo", "--noversioncheck", "--code", str(SESSION)]  # fmt: skip
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600, cwd=out)
    report = out / "report.json"
    assert report.is_file(), (
        f"QGIS ended ({done.returncode}) without a report:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    )
    return json.loads(report.read_text(encoding="utf-8")), out


def renderers(run: dict) -> dict:
    return {layer["name"]: layer["renderer"] for layer in run["layers"]}


def test_the_session_ran_to_its_end(session):
    report, _ = session
    assert "crash" not in report, report.get("crash")
    assert list(report) == ["every output", "every output, again", "temporary outputs", "CSV matrix", "batch"]


@pytest.mark.parametrize("run", ["every output", "every output, again"])
def test_dialog_runs_with_every_output_finish_with_every_layer_loaded_and_styled(session, run):
    """Both class rasters crashed QGIS; a session's second run failed (a deleted StyleOnLoad)."""
    result = session[0][run]
    assert result["successful"] and result["errors"] == []
    layers = renderers(result)
    assert {name: layers.get(name) for name in STYLED} == STYLED
    assert "Change matrix before → after (ha)" in layers and len(layers) == 6
    assert all(layer["valid"] for layer in result["layers"])


def test_a_run_with_temporary_outputs_loads_them_without_an_error(session):
    """It ended in red: "layers were not correctly generated: memory:Changes …"."""
    result = session[0]["temporary outputs"]
    assert result["successful"] and result["errors"] == []
    assert renderers(result) == {
        "Change matrix before → after (ha)": None,
        "Changes before → after": "categorizedSymbol",
    }


def test_the_matrix_is_written_as_csv_from_the_dialog(session):
    """Its Save dialog offered CSV and the run refused it."""
    report, out = session
    result = report["CSV matrix"]
    assert result["successful"] and result["errors"] == []
    assert (out / "matrix.csv").read_text(encoding="utf-8").startswith("from \\ to (ha),")
    assert "Change matrix before → after (ha)" in renderers(result)


def test_a_batch_of_three_rows_loads_every_rows_layers_styled(session):
    result = session[0]["batch"]
    assert result["rows"] == 3 and result["errors"] == []
    polygons = [layer for layer in result["layers"] if layer["name"] == "Changes before → after"]
    assert len(polygons) == 3 and all(layer["renderer"] == "categorizedSymbol" for layer in polygons)


def test_the_screenshots_show_the_desktop(session):
    _, out = session
    shots = sorted(out.glob("*.png"))
    assert len(shots) == 5
    for shot in shots:
        image = QImage(str(shot))
        assert image.width() > 800 and image.height() > 500, shot.name
        sampled = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 37)}
        assert len(sampled) > 20, f"{shot.name} is blank"
        shot.unlink()  # checked, not kept
