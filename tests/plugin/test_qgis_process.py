"""The plugin in qgis_process: installed from its zip into a temporary QGIS profile and enabled there."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from osgeo import gdal
from plugin_testing import PLUGIN, scene_classification
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
    arguments: list[str], environment: dict[str, str], timeout: float = 300, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [qgis_process_program(), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def run_detection(
    parameters: list[str], environment: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``qgis_process run scd:detectchanges -- NAME=VALUE …``."""
    return run_qgis_process(["run", "scd:detectchanges", "--", *parameters], environment, cwd=cwd)


def test_the_enabled_plugin_brings_the_algorithm_to_qgis_process(profile_environment):
    plugins = run_qgis_process(["plugins"], profile_environment).stdout
    assert f"* {PLUGIN}" in plugins, plugins
    listing = run_qgis_process(["list"], profile_environment).stdout
    assert "Semantic change detection" in listing and "scd:detectchanges" in listing
    described = run_qgis_process(["help", "scd:detectchanges"], profile_environment).stdout
    for parameter in ("BEFORE", "AFTER", "MODEL", "AOI", "EXTENT", "SCALE", "MIN_AREA", "OUTPUT", "OUTPUT_MATRIX"):
        assert parameter in described


def test_qgis_process_runs_the_detection_from_the_shell(profile_environment, geo_pair, tiny_model, tmp_path):
    output = tmp_path / "changes.gpkg"
    run = run_detection(
        [
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


def log_noise(run: subprocess.CompletedProcess) -> list[str]:
    """Lines of a run's log that an analyst should never see: Python's resource warnings and GDAL's
    warnings about the GeoPackage version."""
    return [
        line for line in (run.stdout + run.stderr).splitlines() if "ResourceWarning" in line or "GeoPackage" in line
    ]


def test_qgis_process_runs_the_bundled_demo_model_when_model_is_not_given(profile_environment, geo_pair, tmp_path):
    """The README's own command: no MODEL at all (QGIS 3.22 applies no File default outside the dialog)."""
    output = tmp_path / "changes.gpkg"
    run = run_detection(
        [
            f"BEFORE={geo_pair / 'before.tif'}",
            f"AFTER={geo_pair / 'after.tif'}",
            f"OUTPUT={output}",
        ],
        profile_environment,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    plugins = Path(profile_environment["QGIS_CUSTOM_CONFIG_PATH"]) / "profiles" / "default" / "python" / "plugins"
    assert f"--model {plugins / PLUGIN / 'models' / 'demo.pt'}" in run.stdout, "the bundled demo model runs"
    assert QgsVectorLayer(str(output), "changes", "ogr").isValid()
    assert log_noise(run) == []


def test_qgis_process_reads_relative_paths_from_its_working_folder(profile_environment, geo_pair, tiny_model, tmp_path):
    """MODEL, BEFORE, AFTER and OUTPUT relative to the folder qgis_process runs in, not the worker's."""
    folder = tmp_path / "project"
    (folder / "models").mkdir(parents=True)
    shutil.copy(tiny_model, folder / "models" / "tiny.pt")
    shutil.copytree(geo_pair, folder / "images")
    run = run_detection(
        [
            "BEFORE=images/before.tif",
            "AFTER=images/after.tif",
            "MODEL=models/tiny.pt",
            "TILE_SIZE=128",
            "THRESHOLD=0.05",
            "OUTPUT=results/changes.gpkg",
        ],
        profile_environment,
        cwd=folder,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"--model {folder / 'models' / 'tiny.pt'}" in run.stdout
    layer = QgsVectorLayer(str(folder / "results" / "changes.gpkg"), "changes", "ogr")
    assert layer.featureCount() > 0
    assert log_noise(run) == []


def test_qgis_process_passes_a_mask_relative_to_its_working_folder(profile_environment, geo_pair, tiny_model, tmp_path):
    folder = tmp_path / "project"
    shutil.copytree(geo_pair, folder / "images")
    scene_classification(folder / "images", folder / "images" / "scl.tif")
    run = run_detection(
        [
            "BEFORE=images/before.tif",
            "AFTER=images/after.tif",
            f"MODEL={tiny_model}",
            "TILE_SIZE=128",
            "THRESHOLD=0.05",
            "MASK_BEFORE=images/scl.tif",
            "MASK_VALUES=3,8,9,10",
            "OUTPUT=changes.gpkg",
            "OUTPUT_RASTER=codes.tif",
        ],
        profile_environment,
        cwd=folder,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"--mask-before {folder / 'images' / 'scl.tif'} --mask-values 3,8,9,10" in run.stdout
    written = gdal.Open(str(folder / "codes.tif"))  # held while its band is read
    codes = written.GetRasterBand(1).ReadAsArray()
    assert (codes[64:128, 64:128] == 255).all() and (codes[:64] != 255).all()


def test_qgis_process_refuses_a_bad_value_before_the_worker_starts(profile_environment, geo_pair, tmp_path):
    run = run_detection(
        [
            f"BEFORE={geo_pair / 'before.tif'}",
            f"AFTER={geo_pair / 'after.tif'}",
            "BANDS=3,2,9",
            f"OUTPUT={tmp_path / 'changes.gpkg'}",
        ],
        profile_environment,
    )
    assert run.returncode != 0
    assert "Bands: the before image 'before' has 3 bands, so band 9 does not exist" in run.stdout + run.stderr
    assert "Started the worker" not in run.stdout
    assert not (tmp_path / "changes.gpkg").exists()
