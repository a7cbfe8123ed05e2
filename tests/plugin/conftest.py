"""Fixtures of the plugin tests, which run in Debian's real QGIS (offscreen) through pytest-qgis.

The plugin under test is the distributable one: ``make plugin`` builds dist/qgis_scd_plugin.zip and
QGIS's own "Install from ZIP" installs it into a temporary plugin folder, imports it and starts it
(``classFactory``, then ``initGui``).

Nothing here imports torch or the engine: what needs the engine (a synthetic image pair, a tiny
checkpoint) is made by the backend Python, ``$SCD_PYTHON``, in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugin_testing import PLUGIN, REPO, TEST_CRS


@pytest.fixture(scope="session")
def plugin_zip() -> Path:
    """dist/qgis_scd_plugin.zip, freshly built by ``make plugin``."""
    subprocess.run(["make", "--no-print-directory", "plugin"], cwd=REPO, check=True, capture_output=True)
    return REPO / "dist" / f"{PLUGIN}.zip"


@pytest.fixture(scope="session")
def plugin(qgis_processing, qgis_iface, plugin_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The plugin as an analyst gets it: QGIS's own "Install from ZIP" (the plugin manager's installer)
    unpacks the zip into the profile's plugin folder, imports it, calls classFactory and initGui."""
    import qgis.utils
    from qgis.core import QgsApplication, QgsSettings

    sys.path.append(os.path.join(QgsApplication.pkgDataPath(), "python"))  # where QGIS keeps the installer
    from pyplugin_installer.installer import QgsPluginInstaller

    plugins = tmp_path_factory.mktemp("profile") / "python" / "plugins"
    plugins.mkdir(parents=True)
    qgis.utils.home_plugin_path = str(plugins)
    qgis.utils.plugin_paths.insert(0, str(plugins))
    sys.path.insert(0, str(plugins))
    settings = QgsSettings()  # a profile that has never seen the plugin, and no fetching of plugins.qgis.org
    settings.remove(f"PythonPlugins/{PLUGIN}")
    settings.setValue("app/plugin_installer/checkOnStart", False)
    QgsPluginInstaller().installFromZipFile(str(plugin_zip))
    assert PLUGIN in qgis.utils.active_plugins, "Install from ZIP did not start the plugin"
    yield qgis.utils.plugins[PLUGIN]
    qgis.utils.unloadPlugin(PLUGIN)
    sys.path.remove(str(plugins))
    qgis.utils.plugin_paths.remove(str(plugins))


@pytest.fixture(scope="session")
def scd_python() -> str:
    """The backend Python (the Makefile sets SCD_PYTHON to the engine's venv)."""
    python = os.environ.get("SCD_PYTHON", str(REPO / ".venv" / "bin" / "python"))
    assert Path(python).is_file(), f"no backend Python at {python}; run `make setup` or set SCD_PYTHON"
    return python


@pytest.fixture(scope="session")
def geo_pair(scd_python: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic georeferenced 256 × 256 before/after pair (UTM 31N), written by ``scd synth geo``."""
    folder = tmp_path_factory.mktemp("pair")
    done = subprocess.run(
        [scd_python, "-m", "scd_core", "synth", "geo", str(folder), "--size", "256", "--seed", "7", "--crs", TEST_CRS],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="session")
def tiny_model(scd_python: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained, small checkpoint in the engine's format: enough to run the whole pipeline.
    Seeded: an unseeded one made a flat probability map now and then (one grey level everywhere).

    Made by the backend Python in a subprocess: this process is QGIS's Python, which has no torch.
    """
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    code = (
        "import sys, torch; from scd_core import checkpoint; from scd_core.models import build; "
        "torch.manual_seed(0); checkpoint.save(build('fc_ef', width=8), sys.argv[1])"
    )
    done = subprocess.run(
        [scd_python, "-c", code, str(path)], cwd=path.parent, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="session")
def tiny_onnx(scd_python: str, tiny_model: Path) -> Path:
    """The tiny checkpoint's ONNX export, made by ``scd export``."""
    path = tiny_model.with_suffix(".onnx")
    done = subprocess.run(
        [scd_python, "-m", "scd_core", "export", str(tiny_model), "-o", str(path)],
        cwd=path.parent, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return path
