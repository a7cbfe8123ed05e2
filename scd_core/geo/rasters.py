"""Input rasters: open and validate them, choose their bands, fix the output grid, read aligned windows.

Any raster GDAL reads is accepted (GeoTIFF, COG, VRT, JP2, any dtype). Validity follows GDAL's mask
rules, so nodata values, alpha bands and internal masks all mark pixels invalid, and so do NaNs.

The output grid is BEFORE's grid clipped to the overlap of both footprints and the AOI. AFTER is
read directly when it lies on that grid up to a whole-pixel shift, and through a ``WarpedVRT``
(resampled on the fly, window by window) when its CRS, pixel size or origin differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.enums import ColorInterp, MaskFlags, Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from scd_core.errors import (
    BandMismatchError,
    MissingCrsError,
    NoOverlapError,
    UnreadableRasterError,
    UnsupportedGridError,
)
from scd_core.geo.grid import Grid, covering_window, is_north_up, pixel_offset


def source_name(source: str | Path) -> str:
    """How a raster is named to GDAL and in run.json: an existing file as its absolute path, anything
    else (``GPKG:file.gpkg:table``, ``NETCDF:"file.nc":var``, ``/vsizip/...``) as it was given."""
    return str(Path(source).absolute()) if Path(source).exists() else str(source)


def _gdal_name(name: str) -> bool:
    """True for dataset names that are not plain paths: a driver prefix (``GPKG:``) or a virtual file."""
    return name.startswith("/vsi") or (":" in name and not Path(name).parent.exists())


def open_raster(path: str | Path, role: str) -> rasterio.DatasetReader:
    """Open ``path`` for reading and check it can serve as ``role`` (``"BEFORE"`` or ``"AFTER"``).

    ``path`` is a file or any dataset name GDAL opens (a GeoPackage raster table, a NetCDF or HDF
    subdataset, a VRT, a ``/vsi`` path).

    Raises:
        UnreadableRasterError: missing, corrupt, or not a raster GDAL reads.
        MissingCrsError: the raster has no coordinate reference system.
    """
    name = str(path)
    if not Path(name).exists() and not _gdal_name(name):
        raise UnreadableRasterError(f"{role} raster not found", path)
    try:
        dataset = rasterio.open(name)
    except RasterioError as error:
        raise UnreadableRasterError(f"{role} is not a raster GDAL can read ({error})", path) from None
    try:
        if dataset.crs is None:
            raise MissingCrsError(
                f"{role} has no coordinate reference system; assign one (e.g. gdal_edit.py -a_srs EPSG:xxxx)", path
            )
        if dataset.count == 0:
            raise UnreadableRasterError(f"{role} has no bands", path)
        # Decode one block now, so a corrupt file is reported before any output exists.
        dataset.read(1, window=Window(0, 0, min(dataset.width, 256), min(dataset.height, 256)))
    except RasterioError as error:
        dataset.close()
        raise UnreadableRasterError(f"{role} cannot be decoded ({error})", path) from None
    except BaseException:
        dataset.close()
        raise
    return dataset


def band_names(dataset: rasterio.DatasetReader) -> list[set[str]]:
    """Lower-case names a band can be asked for by: its colour interpretation and its description."""
    names = []
    for interp, description in zip(dataset.colorinterp, dataset.descriptions, strict=True):
        names.append({interp.name.lower(), (description or "").strip().lower()} - {"", "undefined"})
    return names


def select_bands(
    dataset: rasterio.DatasetReader, path: str | Path, wanted: Sequence[str], requested: Sequence[int] | None, role: str
) -> tuple[int, ...]:
    """1-based band indices of ``dataset`` to feed the model, whose bands are named ``wanted``.

    ``requested`` (``--bands``) wins when given. Otherwise a raster with exactly as many non-alpha
    bands as the model reads is used in order, and a raster with more is searched for the wanted
    names (colour interpretation or band description, e.g. an RGBN image for an RGB model).
    """
    channels = len(wanted)
    if requested:
        if len(requested) != channels:
            raise BandMismatchError(
                f"--bands lists {len(requested)} bands but the model reads {channels} ({', '.join(wanted)})", path
            )
        missing = [b for b in requested if not 1 <= b <= dataset.count]
        if missing:
            raise BandMismatchError(f"{role} has {dataset.count} bands; --bands asks for {missing}", path)
        return tuple(requested)
    data_bands = [i + 1 for i, interp in enumerate(dataset.colorinterp) if interp != ColorInterp.alpha]
    if len(data_bands) == channels:
        return tuple(data_bands)
    names = band_names(dataset)
    found = [next((b for b in data_bands if name.lower() in names[b - 1]), None) for name in wanted]
    if len(data_bands) > channels and all(b is not None for b in found):
        return tuple(b for b in found if b is not None)
    raise BandMismatchError(
        f"{role} has {len(data_bands)} bands but the model reads {channels} ({', '.join(wanted)}); "
        "choose them with --bands, e.g. --bands " + ",".join(str(i) for i in range(1, channels + 1)),
        path,
    )


def output_grid(
    before: rasterio.DatasetReader,
    after: rasterio.DatasetReader,
    paths: tuple[str, str],
    aoi: shapely.Geometry | None = None,
    aoi_source: str | Path | None = None,
) -> Grid:
    """BEFORE's grid clipped to the overlap of both footprints and to the AOI (in BEFORE's CRS)."""
    if not is_north_up(before.transform):
        raise UnsupportedGridError("BEFORE's grid is rotated or sheared; warp it north-up first (gdalwarp)", paths[0])
    try:
        after_bounds = transform_bounds(after.crs, before.crs, *after.bounds, densify_pts=21)
    except RasterioError as error:
        raise NoOverlapError(f"AFTER's footprint cannot be placed in BEFORE's CRS ({error})", paths[1]) from None
    if not np.all(np.isfinite(after_bounds)):
        raise NoOverlapError("AFTER's footprint cannot be placed in BEFORE's CRS", paths[1])
    window = covering_window(before.transform, before.width, before.height, [after_bounds])
    if window is None:
        raise NoOverlapError(f"AFTER shares no ground with BEFORE ({paths[0]})", paths[1])
    if aoi is not None:
        window = covering_window(before.transform, before.width, before.height, [after_bounds, aoi.bounds])
        if window is None:
            raise NoOverlapError("the AOI does not overlap the area both dates cover", aoi_source)
    return Grid(before.crs.to_string(), before.window_transform(window), int(window.width), int(window.height))


def has_mask(dataset: rasterio.DatasetReader) -> bool:
    """True when GDAL can tell invalid pixels (nodata, alpha or a mask band)."""
    return any(MaskFlags.all_valid not in flags for flags in dataset.mask_flag_enums)


class WindowReader:
    """Reads the chosen bands and the validity of windows of the output grid from one date.

    Not thread-safe (GDAL handles are not): the engine gives each reader to one thread at a time.
    """

    def __init__(self, dataset: rasterio.DatasetReader, bands: Sequence[int], grid: Grid, path: str, role: str) -> None:
        self.path, self.role, self.bands = path, role, list(bands)
        self.dataset = dataset
        offset = (
            pixel_offset(grid.transform, dataset.transform)
            if dataset.crs == rasterio.CRS.from_user_input(grid.crs)
            else None
        )
        self.resampled = offset is None
        self.offset: tuple[int, int] = (0, 0) if offset is None else offset
        self.source: rasterio.DatasetReader | WarpedVRT = dataset
        if offset is None:
            ratio = abs(grid.transform.a) / max(abs(dataset.res[0]), 1e-300)
            self.source = WarpedVRT(
                dataset,
                crs=grid.crs,
                transform=grid.transform,
                width=grid.width,
                height=grid.height,
                resampling=Resampling.average if ratio >= 2 else Resampling.bilinear,
                add_alpha=not has_mask(dataset),
            )
        self.shape = (grid.height, grid.width)

    def _source_window(self, window: Window) -> tuple[Window, bool]:
        shifted = Window(window.col_off + self.offset[0], window.row_off + self.offset[1], window.width, window.height)
        inside = (
            shifted.col_off >= 0
            and shifted.row_off >= 0
            and shifted.col_off + shifted.width <= self.source.width
            and shifted.row_off + shifted.height <= self.source.height
        )
        return shifted, not inside

    def read(self, window: Window, out_shape: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Bands (C×h×w float32) and validity (h×w bool) of ``window``; ``out_shape`` decimates."""
        source_window, boundless = self._source_window(window)
        shape = None if out_shape is None else (len(self.bands), *out_shape)
        try:
            data = self.source.read(
                self.bands, window=source_window, boundless=boundless, out_shape=shape, out_dtype="float32"
            )
            masks = self.source.read_masks(self.bands, window=source_window, boundless=boundless, out_shape=shape)
        except RasterioError as error:
            raise UnreadableRasterError(f"{self.role} cannot be read at {window} ({error})", self.path) from None
        valid = np.all(masks > 0, axis=0) & np.all(np.isfinite(data), axis=0)
        return data, valid

    def overview(self, max_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The whole output area, decimated so its longer side is at most ``max_size`` pixels."""
        height, width = self.shape
        factor = max(1.0, max(height, width) / max_size)
        out_shape = (max(1, round(height / factor)), max(1, round(width / factor)))
        return self.read(Window(0, 0, width, height), out_shape=out_shape)

    def close(self) -> None:
        if self.source is not self.dataset:
            self.source.close()


def fingerprint(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, to tell later which exact inputs a run used."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
