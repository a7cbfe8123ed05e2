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
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, osr
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProcessingFeedback,
    QgsVectorFileWriter,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "qgis_scd_plugin"
#: A metric CRS for the synthetic rasters (UTM 31N).
TEST_CRS = "EPSG:32631"

gdal.UseExceptions()


class RecordingFeedback(QgsProcessingFeedback):
    """QGIS's feedback, keeping what it was told."""

    def __init__(self) -> None:
        super().__init__()
        self.infos: list[str] = []
        self.warnings: list[str] = []
        self.console: list[str] = []
        self.progress_seen: list[float] = []
        self.progressChanged.connect(self.progress_seen.append)

    def pushInfo(self, info: str) -> None:
        self.infos.append(info)
        super().pushInfo(info)

    def pushWarning(self, warning: str) -> None:
        self.warnings.append(warning)
        super().pushWarning(warning)

    def pushConsoleInfo(self, info: str) -> None:
        self.console.append(info)
        super().pushConsoleInfo(info)


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


def write_raster(path: Path, bands: np.ndarray, crs: str | None = TEST_CRS, pixel: float = 1.0) -> Path:
    """A GeoTIFF of ``bands`` (bands × rows × columns, uint8) at 500000, 4600000, or without a CRS."""
    count, rows, columns = bands.shape
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), columns, rows, count, gdal.GDT_Byte)
    if crs is not None:
        dataset.SetGeoTransform((500000.0, pixel, 0.0, 4600000.0, 0.0, -pixel))
        reference = osr.SpatialReference()
        reference.SetFromUserInput(crs)
        dataset.SetProjection(reference.ExportToWkt())
    for index in range(count):
        dataset.GetRasterBand(index + 1).WriteArray(bands[index])
    dataset.FlushCache()
    dataset = None
    return path


#: Fields of the worker's "changes" layer (the worker protocol's contract).
CHANGES_FIELDS: Sequence[tuple] = (
    ("change_type", QVariant.Int),
    ("from_class", QVariant.Int),
    ("to_class", QVariant.Int),
    ("from_name", QVariant.String),
    ("to_name", QVariant.String),
    ("area_m2", QVariant.Double),
    ("mean_prob", QVariant.Double),
)


def write_changes_geopackage(path: Path, polygons: dict[int, str], crs: str = TEST_CRS) -> Path:
    """A GeoPackage laid out like the worker's (layer "changes"): one polygon (WKT) per change code."""
    from qgis_scd_plugin.legend import change_types

    by_code = {change.code: change for change in change_types()}
    fields = QgsFields()
    for name, kind in CHANGES_FIELDS:
        fields.append(QgsField(name, kind))
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "changes"
    writer = QgsVectorFileWriter.create(
        str(path),
        fields,
        QgsWkbTypes.Polygon,
        QgsCoordinateReferenceSystem(crs),
        QgsCoordinateTransformContext(),
        options,
    )
    assert writer.hasError() == QgsVectorFileWriter.NoError, writer.errorMessage()
    for code, wkt in polygons.items():
        change = by_code[code]
        feature = QgsFeature(fields)
        geometry = QgsGeometry.fromWkt(wkt)
        feature.setGeometry(geometry)
        feature.setAttributes(
            [
                code,
                change.from_class.index,
                change.to_class.index,
                change.from_class.name,
                change.to_class.name,
                geometry.area(),
                0.9,
            ]
        )
        assert writer.addFeature(feature)
    del writer
    return path


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

    Made by the backend Python in a subprocess: this process is QGIS's Python, which has no torch.
    """
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    code = "import sys; from scd_core import checkpoint; from scd_core.models import build; checkpoint.save(build('fc_ef', width=8), sys.argv[1])"
    done = subprocess.run(
        [scd_python, "-c", code, str(path)], cwd=path.parent, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return path
