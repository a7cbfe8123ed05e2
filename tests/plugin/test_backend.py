"""Finding the backend: the plugin setting, then SCD_PYTHON, then an ``scd`` command on PATH; and the
worker's environment, cleaned of QGIS's Python, GDAL and PROJ variables."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from plugin_testing import REPO


def test_the_plugin_setting_comes_first(plugin, scd_python):
    from qgis_scd_plugin.backend import find_backend

    backend = find_backend(scd_python, {"SCD_PYTHON": "/elsewhere/python", "PATH": str(REPO / ".venv" / "bin")})
    assert backend.python == scd_python and backend.found_in == "the plugin settings"


def test_scd_python_comes_before_path(plugin, scd_python):
    from qgis_scd_plugin.backend import find_backend

    backend = find_backend("", {"SCD_PYTHON": scd_python, "PATH": "/nowhere"})
    assert backend.python == scd_python and backend.found_in == "SCD_PYTHON"
    assert backend.command("detect", "a.tif") == [scd_python, "-m", "scd_core", "detect", "a.tif"]


def test_an_scd_command_on_path_is_run_by_the_python_of_its_environment(plugin, scd_python):
    from qgis_scd_plugin.backend import find_backend

    scd = Path(scd_python).parent / "scd"
    assert scd.is_file(), "the engine's venv installs the scd command"
    backend = find_backend("", {"PATH": str(scd.parent)})
    assert Path(backend.python).parent == scd.resolve().parent
    assert "scd command on PATH" in backend.found_in


def test_without_a_backend_the_error_explains_the_set_up(plugin):
    from qgis_scd_plugin.backend import BackendNotFoundError, find_backend

    with pytest.raises(BackendNotFoundError) as error:
        find_backend("", {"PATH": "/nowhere"})
    message = str(error.value)
    assert "SCD_PYTHON" in message and "Install backend" in message and "scd command on PATH" in message


def test_a_chosen_backend_that_is_gone_is_reported_not_skipped(plugin, scd_python):
    from qgis_scd_plugin.backend import BackendNotFoundError, find_backend

    with pytest.raises(BackendNotFoundError, match="/gone/bin/python, does not exist"):
        find_backend("/gone/bin/python", {"SCD_PYTHON": scd_python})


def test_worker_environment_drops_qgis_python_gdal_and_proj_variables(plugin, scd_python):
    from qgis_scd_plugin.backend import worker_environment

    qgis_like = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/analyst",
        "PYTHONPATH": "/usr/share/qgis/python",
        "PYTHONHOME": "/usr",
        "GDAL_DATA": "/usr/share/gdal",
        "GDAL_DRIVER_PATH": "/usr/lib/gdalplugins",
        "PROJ_LIB": "/usr/share/proj",
        "PROJ_DATA": "/usr/share/proj",
    }
    cleaned = worker_environment(qgis_like)
    assert {"PYTHONPATH", "PYTHONHOME", "GDAL_DATA", "GDAL_DRIVER_PATH", "PROJ_LIB", "PROJ_DATA"}.isdisjoint(cleaned)
    assert cleaned["PATH"] == "/usr/bin:/bin" and cleaned["HOME"] == "/home/analyst"
    seen = subprocess.run(
        [scd_python, "-c", "import os, sys; print(sorted(os.environ)); print(sys.path)"],
        env=cleaned,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "PYTHONPATH" not in seen and "/usr/share/qgis/python" not in seen
