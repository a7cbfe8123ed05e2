"""The plugin in qgis_process: installed from its zip into a temporary QGIS profile and enabled there."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from plugin_testing import PLUGIN
from qgis.core import QgsVectorLayer


def qgis_process_program() -> str:
    """Debian's /usr/bin/qgis_process wrapper passes ``--noversioncheck``, which qgis_process 3.22 rejects
    ("Command --noversioncheck not known!", QGIS issue #57683); the ``.bin`` beside it is the program itself."""
    wrapper = shutil.which("qgis_process")
    assert wrapper, "qgis_process is not installed"
    return wrapper + ".bin" if os.path.isfile(wrapper + ".bin") else wrapper


@pytest.fixture(scope="session")
def profile_environment(plugin_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose QGIS settings live in a fresh folder, with the plugin installed and enabled."""
    config = tmp_path_factory.mktemp("qgis_config")
    plugins = config / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(plugin_zip) as archive:
        archive.extractall(plugins)
    environment = dict(os.environ, QGIS_CUSTOM_CONFIG_PATH=str(config), QT_QPA_PLATFORM="offscreen")
    enabled = run_qgis_process(["plugins", "enable", PLUGIN], environment)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    return environment


def run_qgis_process(
    arguments: list[str], environment: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [qgis_process_program(), *arguments], env=environment, capture_output=True, text=True, timeout=timeout
    )


def test_the_enabled_plugin_brings_the_algorithm_to_qgis_process(profile_environment):
    plugins = run_qgis_process(["plugins"], profile_environment).stdout
    assert f"* {PLUGIN}" in plugins, plugins
    listing = run_qgis_process(["list"], profile_environment).stdout
    assert "Semantic change detection" in listing and "scd:detectchanges" in listing
    described = run_qgis_process(["help", "scd:detectchanges"], profile_environment).stdout
    for parameter in ("BEFORE", "AFTER", "MODEL", "AOI", "EXTENT", "OUTPUT", "OUTPUT_RASTER"):
        assert parameter in described


def test_qgis_process_runs_the_detection_from_the_shell(profile_environment, geo_pair, tiny_model, tmp_path):
    output = tmp_path / "changes.gpkg"
    run = run_qgis_process(
        [
            "run",
            "scd:detectchanges",
            "--",
            f"BEFORE={geo_pair / 'before.tif'}",
            f"AFTER={geo_pair / 'after.tif'}",
            f"MODEL={tiny_model}",
            "TILE_SIZE=128",
            "THRESHOLD=0.05",
            f"OUTPUT={output}",
        ],
        profile_environment,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"OUTPUT:\t{output}" in run.stdout
    layer = QgsVectorLayer(f"{output}|layername=changes", "changes", "ogr")
    assert layer.featureCount() > 0
    assert layer.renderer().type() == "categorizedSymbol", "the style is saved in the GeoPackage"
