"""Helpers of the plugin tests (QGIS's Python: no torch, no engine): paths, a feedback that records
what it is told, and writers of small rasters and of GeoPackages laid out like the worker's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from osgeo import gdal, osr
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProcessingFeedback,
    QgsRectangle,
    QgsVectorFileWriter,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "qgis_scd_plugin"
#: A metric CRS for the synthetic rasters (UTM 31N).
TEST_CRS = "EPSG:32631"

gdal.UseExceptions()

#: An untrained model's change probabilities hover around one half; a low threshold makes it call
#: changes, so that the polygons, their codes and their styling are exercised.
UNTRAINED_THRESHOLD = 0.05


def detect_parameters(pair: Path, model: Path, **more) -> dict:
    """Parameters of a quick run of ``scd:detectchanges`` on a synthetic pair on the CPU."""
    return {
        "BEFORE": str(pair / "before.tif"),
        "AFTER": str(pair / "after.tif"),
        "MODEL": str(model),
        "TILE_SIZE": 128,
        "THRESHOLD": UNTRAINED_THRESHOLD,
        "DEVICE": 1,  # cpu
        **more,
    }


class RecordingFeedback(QgsProcessingFeedback):
    """QGIS's feedback, keeping what it was told."""

    def __init__(self) -> None:
        super().__init__()
        self.infos: list[str] = []
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        self.commands: list[str] = []
        self.progress_seen: list[float] = []
        self.progressChanged.connect(self.progress_seen.append)

    def pushInfo(self, info: str) -> None:
        self.infos.append(info)
        super().pushInfo(info)

    def pushWarning(self, warning: str) -> None:
        self.warnings.append(warning)
        super().pushWarning(warning)

    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N803 (QGIS's signature)
        self.errors.append(error)
        super().reportError(error, fatalError)

    def pushConsoleInfo(self, info: str) -> None:
        self.console.append(info)
        super().pushConsoleInfo(info)

    def pushCommandInfo(self, info: str) -> None:
        self.commands.append(info)
        super().pushCommandInfo(info)


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


#: Scene classes of the mask: 4 vegetation, 8 cloud (masked with MASK_VALUES 3,8,9,10), 2 dark area (not masked).
CLEAR, CLOUD, DARK = 4, 8, 2


def scene_classification(pair: Path, path: Path, shift: float = 0.0) -> tuple[Path, QgsRectangle]:
    """An SCL-like mask on the before image's grid (``shift`` metres east of it): a cloud over rows and
    columns 64-127, a dark area beside it; the cloud's extent."""
    before = gdal.Open(str(pair / "before.tif"))
    classes = np.full((before.RasterYSize, before.RasterXSize), CLEAR, np.uint8)
    classes[64:128, 64:128], classes[160:200, 20:60] = CLOUD, DARK
    mask = gdal.GetDriverByName("GTiff").Create(str(path), before.RasterXSize, before.RasterYSize, 1, gdal.GDT_Byte)
    left, *rest = before.GetGeoTransform()
    mask.SetGeoTransform((left + shift, *rest))
    mask.SetProjection(before.GetProjection())
    mask.GetRasterBand(1).WriteArray(classes)
    mask.FlushCache()
    mask = None  # closed: written to the file
    left, size, _, top, _, _ = before.GetGeoTransform()
    return path, QgsRectangle(left + 64 * size, top - 128 * size, left + 128 * size, top - 64 * size)


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
    from qgis_scd_plugin.shared import legend

    by_code = {change.code: change for change in legend.change_types()}
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
