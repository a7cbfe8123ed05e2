"""An ``scd detect`` output folder made from a change-type raster alone, for ``scd score``.

``scd score`` reads a run's folder: change_type.tif, the per-date class maps and run.json. A change
layer an analyst has (the algorithm's *Change types* output, or a run's change_type.tif moved away
from its folder) holds all of it: each code names its from and to classes (:mod:`.legend`), and its
``scd_class_names`` tag names the change types. So the folder is rebuilt from that one raster.
"""

from __future__ import annotations

import json
import math
import os
import shutil

import numpy as np
from osgeo import gdal

from .options import OptionError
from .shared import legend

_NAMES_TAG = "scd_class_names"


def folder_of_change_raster(raster: str, folder: str, label: str) -> str:
    """Write into ``folder`` a run folder whose change types are ``raster``'s; ``folder``."""
    dataset = gdal.OpenEx(raster, gdal.OF_RASTER)
    if dataset is None:
        raise OptionError(f"{label}: {raster} cannot be opened as a raster.")
    tags = dataset.GetMetadata() or {}
    try:
        type_names = list(json.loads(tags[_NAMES_TAG]).values())
    except (KeyError, ValueError):
        raise OptionError(
            f"{label}: {raster} is not a change-type raster of scd (it has no change type names); choose the "
            "Change types output of Detect semantic changes, or a run's change_type.tif."
        ) from None
    classes = math.isqrt(len(type_names) - 1)
    class_names = [
        legend.NO_CHANGE_NAME,
        *(type_names[1 + classes * index].split(" → ")[0] for index in range(classes)),
    ]
    os.makedirs(folder, exist_ok=True)
    shutil.copyfile(raster, os.path.join(folder, "change_type.tif"))
    band = dataset.GetRasterBand(1)
    codes, nodata = band.ReadAsArray(), band.GetNoDataValue()
    changed = codes != legend.NO_CHANGE
    if nodata is not None:
        changed &= codes != nodata
    steps = np.where(changed, codes.astype(np.int64) - 1, 0)
    for name, classes_of in (("before_class", steps // classes + 1), ("after_class", steps % classes + 1)):
        values = np.where(changed, classes_of, legend.NO_CHANGE).astype(codes.dtype)
        if nodata is not None:
            values[codes == nodata] = codes[codes == nodata]
        _write_like(dataset, values, os.path.join(folder, f"{name}.tif"), class_names)
    with open(os.path.join(folder, "run.json"), "w", encoding="utf-8") as handle:
        json.dump({"made_from": raster}, handle)
    return folder


def _write_like(template: gdal.Dataset, values: np.ndarray, path: str, class_names: list[str]) -> None:
    """A GeoTIFF of ``values`` on ``template``'s grid, with its nodata and the classes' names."""
    band = template.GetRasterBand(1)
    written = gdal.GetDriverByName("GTiff").Create(
        path, template.RasterXSize, template.RasterYSize, 1, band.DataType, ["COMPRESS=DEFLATE"]
    )
    written.SetGeoTransform(template.GetGeoTransform())
    written.SetProjection(template.GetProjection())
    written.SetMetadataItem(_NAMES_TAG, json.dumps(dict(enumerate(class_names)), ensure_ascii=False))
    if band.GetNoDataValue() is not None:
        written.GetRasterBand(1).SetNoDataValue(band.GetNoDataValue())
    written.GetRasterBand(1).WriteArray(values)
    written.FlushCache()
