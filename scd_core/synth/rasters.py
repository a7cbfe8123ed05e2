"""The GeoTIFFs of a georeferenced pair: bands and their encoding, grids, profiles, resampling.

rasterio and pyproj are imported by the functions that use them: scenes and SECOND folders need
neither, and importing :mod:`scd_core.synth` stays cheap for training workers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scd_core.labels import IGNORE

if TYPE_CHECKING:
    from affine import Affine
    from rasterio.crs import CRS
    from rasterio.io import DatasetWriter

#: A raster's grid: its transform, width and height.
Grid = tuple["Affine", int, int]

#: Where scenes are put when no origin is given: Berlin, inside the default CRS (UTM 33N).
_DEFAULT_PLACE = (13.40, 52.52)  # longitude, latitude
_METRES_PER_DEGREE = 111_320.0
#: Grey level 0-255 to reflectance: grey level 255 is reflectance 0.5 (Sentinel-2 scale ×10000 for uint16).
_REFLECTANCE_PER_LEVEL = 0.5 / 255
NODATA = 0
BAND_NAMES = {1: ("panchromatic",), 3: ("red", "green", "blue"), 4: ("red", "green", "blue", "nir")}


def encode(image: np.ndarray, dtype: str, bands: int) -> np.ndarray:
    """Grey levels (3×H×W float) to the file's bands and dtype, band-first as rasterio writes."""
    image = np.clip(image, 1, 255)
    if bands == 1:
        planes = [image[0] * np.float32(0.299) + image[1] * np.float32(0.587) + image[2] * np.float32(0.114)]
    else:
        planes = list(image)
    if bands == 4:
        # Near infrared as vegetation shows it: bright where green stands above red and blue.
        red, green, blue = planes
        excess_green = np.maximum(green - (red + blue) * np.float32(0.5), 0)
        planes.append(
            np.clip(
                red * np.float32(0.6) + green * np.float32(0.3) + blue * np.float32(0.1) + excess_green * np.float32(3),
                1,
                255,
            )
        )
    stack = np.stack(planes)
    if dtype == "uint8":
        return (stack + np.float32(0.5)).astype(np.uint8)
    if dtype == "uint16":
        return (stack * np.float32(_REFLECTANCE_PER_LEVEL * 10_000) + np.float32(0.5)).astype(np.uint16)
    return stack * np.float32(_REFLECTANCE_PER_LEVEL)


def default_resolution(crs: CRS) -> float:
    """Half a metre, in the CRS's units: SECOND's finest resolution."""
    if crs.is_geographic:
        return 0.5 / _METRES_PER_DEGREE
    if not crs.is_projected:
        raise ValueError(f"CRS {crs} is neither projected nor geographic; give a projected or geographic CRS")
    return 0.5 / crs.linear_units_factor[1]


def default_origin(crs: CRS, resolution: float) -> tuple[float, float]:
    """Upper-left corner: Berlin when the CRS is meant for it, else the middle of the CRS's area of use,
    snapped to the pixel grid as products are."""
    import pyproj
    from rasterio.warp import transform

    longitude, latitude = _DEFAULT_PLACE
    area = pyproj.CRS.from_user_input(crs.to_wkt()).area_of_use
    if area is not None and not (area.west <= longitude <= area.east and area.south <= latitude <= area.north):
        east = area.east if area.east >= area.west else area.east + 360
        longitude = (area.west + east) / 2
        longitude = longitude - 360 if longitude > 180 else longitude
        latitude = (area.south + area.north) / 2
    xs, ys = transform("EPSG:4326", crs, [longitude], [latitude])
    return math.floor(xs[0] / resolution) * resolution, math.floor(ys[0] / resolution) * resolution


def after_grid(
    crs: CRS,
    transform: Affine,
    height: int,
    width: int,
    after_crs: CRS,
    after_resolution: float | None,
    after_shift: tuple[float, float] | None,
) -> Grid:
    """AFTER's CRS, transform and size: covering BEFORE's whole footprint, on its own pixel grid."""
    from rasterio.transform import array_bounds, from_origin
    from rasterio.warp import calculate_default_transform

    if after_crs == crs:
        resolution = after_resolution or transform.a
        after_transform = from_origin(transform.c, transform.f, resolution, resolution)
        after_width = math.ceil(width * transform.a / resolution - 1e-9)
        after_height = math.ceil(height * -transform.e / resolution - 1e-9)
    else:
        left, bottom, right, top = array_bounds(height, width, transform)
        after_transform, after_width, after_height = calculate_default_transform(
            crs, after_crs, width, height, left=left, bottom=bottom, right=right, top=top, resolution=after_resolution
        )
    if after_shift:
        after_transform, after_width, after_height = _shifted(after_transform, after_width, after_height, after_shift)
    return after_transform, after_width, after_height


def _shifted(transform: Affine, width: int, height: int, shift: tuple[float, float]) -> Grid:
    """Move a grid's lines by ``shift`` (x east, y north, CRS units), growing it to keep its coverage."""
    from rasterio.transform import from_origin

    dx, dy = shift
    size_x, size_y = transform.a, -transform.e
    extra_x, extra_y = math.ceil(abs(dx) / size_x), math.ceil(abs(dy) / size_y)
    left = transform.c + dx - (extra_x * size_x if dx > 0 else 0)
    top = transform.f + dy + (extra_y * size_y if dy < 0 else 0)
    return from_origin(left, top, size_x, size_y), width + extra_x, height + extra_y


def image_profile(
    crs: CRS, transform: Affine, height: int, width: int, dtype: str, bands: int, nodata: int | None
) -> dict:
    """Tiled, deflate-compressed GeoTIFF of ``bands`` bands of ``dtype``, with a predictor that suits it."""
    return {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": bands,
        "dtype": dtype,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 3 if dtype == "float32" else 2,
        "BIGTIFF": "IF_SAFER",
    }


def label_profile(crs: CRS, transform: Affine, height: int, width: int) -> dict:
    """One uint8 band of class indices, 255 (ignore) as nodata; no predictor, labels are not smooth."""
    return {**image_profile(crs, transform, height, width, "uint8", 1, IGNORE), "predictor": 1}


def describe_bands(dataset: DatasetWriter, bands: int) -> None:
    """Name each band and give its colour interpretation, so that GIS software shows RGB as RGB."""
    from rasterio.enums import ColorInterp

    interpretation = {
        "panchromatic": ColorInterp.gray,
        "red": ColorInterp.red,
        "green": ColorInterp.green,
        "blue": ColorInterp.blue,
        "nir": ColorInterp.undefined,
    }
    names = BAND_NAMES[bands]
    dataset.colorinterp = [interpretation[name] for name in names]
    for number, name in enumerate(names, start=1):
        dataset.set_band_description(number, name)


def regrid(source: Path, destination: Path, after_crs: CRS, grid: Grid, dtype: str, bands: int) -> None:
    """Resample AFTER onto its own grid, chunk by chunk (GDAL's warper), so memory stays bounded."""
    import rasterio
    from rasterio.warp import Resampling, reproject

    after_transform, after_width, after_height = grid
    profile = image_profile(after_crs, after_transform, after_height, after_width, dtype, bands, NODATA)
    with rasterio.open(source) as src, rasterio.open(destination, "w", **profile) as dst:
        describe_bands(dst, bands)
        reproject(
            source=rasterio.band(src, list(src.indexes)),
            destination=rasterio.band(dst, list(dst.indexes)),
            src_nodata=NODATA,
            dst_nodata=NODATA,
            resampling=Resampling.bilinear,
            warp_mem_limit=64,
        )
