"""Input rasters: open and validate them, fix the grid of their overlap, read aligned windows.

Any raster GDAL reads is accepted (GeoTIFF, COG, VRT, JP2, any dtype). Validity follows GDAL's mask
rules, so nodata values, alpha bands and internal masks all mark pixels invalid, and so do NaNs and
the pixels a date's mask covers (``--mask-before``, ``--mask-after``: :mod:`.masks`).

The output grid is BEFORE's grid clipped to the overlap of both footprints and the AOI. AFTER is
read directly when it lies on that grid up to a whole-pixel shift, and through a ``WarpedVRT``
(resampled on the fly, window by window) when its CRS, pixel size or origin differs.

Rasters read over a network (``/vsicurl/``, ``/vsis3/``... :func:`is_remote`; a plain ``https://``
URL is read as ``/vsicurl/``) are read window by window through HTTP range requests, never fetched
whole: the whole-raster reads (the data check, the stretch's sample, the fingerprint) are decimated,
which GDAL serves from the file's overviews, so a cloud-optimised GeoTIFF (COG) costs a run little
more than the windows it covers; a remote raster without overviews is sampled by a lattice of
windows instead (:mod:`.sampling`). While a run reads, :func:`network_config` sets GDAL's HTTP options
(each only where the environment does not set it): three retries, a second apart and then longer,
of the answers GDAL takes for transient (429 and server errors, 500 included), so a busy server
costs a pause rather than the run; a connection that stalls for a minute fails the run rather than
hanging it. A remote raster is opened without listing its folder
(``GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR``): GDAL otherwise asks for every side-car file it might
have (``.aux.xml``, ``.msk``, ``.ovr``...), a request each, retried on a failing server, and a COG
has none.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import rasterio
import shapely
from rasterio.enums import MaskFlags, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from scd_core.errors import (
    MissingCrsError,
    NoDataError,
    NoOverlapError,
    UnreadableRasterError,
    UnsupportedGridError,
)
from scd_core.geo.aoi import Area
from scd_core.geo.grid import Grid, covering_window, is_north_up, pixel_offset
from scd_core.geo.sampling import lattice, read_decimated, use_lattice

#: GDAL's virtual file systems that read over a network.
NETWORK = ("/vsicurl", "/vsis3", "/vsigs", "/vsiaz", "/vsiadls", "/vsioss", "/vsiswift", "/vsiwebhdfs", "/vsihdfs")
_URL = re.compile(r"^https?://", re.IGNORECASE)

#: GDAL's HTTP options while a run reads (see the module docstring).
NETWORK_CONFIG = {
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "30",
    "GDAL_HTTP_LOW_SPEED_TIME": "60",
    "GDAL_HTTP_LOW_SPEED_LIMIT": "1",
}


def network_config() -> dict[str, str]:
    """:data:`NETWORK_CONFIG` less what the environment sets itself (the user's choice wins)."""
    return {key: value for key, value in NETWORK_CONFIG.items() if key not in os.environ}


def is_remote(name: str | Path) -> bool:
    """True for a raster GDAL reads over a network, also inside an archive (``/vsizip//vsicurl/...``)."""
    return any(prefix in str(name) for prefix in NETWORK)


def reading_env(name: str | Path) -> rasterio.Env:
    """GDAL's settings to open and read ``name`` with: :func:`network_config`, and for a remote raster
    no listing of its folder (see the module docstring)."""
    unlisted = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"} if is_remote(name) else {}
    return rasterio.Env(**network_config(), **unlisted)


def source_name(source: str | Path) -> str:
    """How a raster is named to GDAL and in run.json: an existing file as its absolute path, a plain
    ``http(s)://`` URL as GDAL's ``/vsicurl/`` name of it, anything else (``GPKG:file.gpkg:table``,
    ``NETCDF:"file.nc":var``, ``/vsizip/...``, ``/vsicurl/...``) as it was given."""
    if _URL.match(str(source)):
        return f"/vsicurl/{source}"
    return str(Path(source).absolute()) if Path(source).exists() else str(source)


def gdal_reason(error: BaseException) -> str:
    """What GDAL said, from the deepest error of ``error``'s chain: rasterio's own message is often
    only "Read failed. See previous exception for details"."""
    reason, cause = str(error), error.__cause__ or error.__context__
    while cause is not None:
        reason, cause = str(cause), cause.__cause__ or cause.__context__
    return reason


def _gdal_name(name: str) -> bool:
    """True for dataset names that are not plain paths: a driver prefix (``GPKG:``) or a virtual file."""
    return name.startswith("/vsi") or (":" in name and not Path(name).parent.exists())


def _damaged(role: str, error: BaseException, window: Window | None = None, remote: bool = False) -> str:
    where = "" if window is None else f" at rows {window.row_off}-{window.row_off + window.height}"
    if remote:
        return f"{role} could not be read over the network{where} ({gdal_reason(error)})"
    return f"{role} cannot be decoded{where}: the file may be truncated or damaged ({gdal_reason(error)})"


def _unplaced(dataset: rasterio.DatasetReader, role: str) -> str:
    """Why a raster without a CRS cannot be placed, and its fix: ground control points or RPCs need a
    warp onto a grid (assigning a CRS would leave its pixel grid unplaced), anything else a CRS."""
    points, points_crs = dataset.gcps
    if points:
        srs = f" -t_srs {points_crs.to_string()}" if points_crs else ""
        return (
            f"{role} is georeferenced by {len(points)} ground control points only, not by a grid; warp it "
            f"onto one first (e.g. gdalwarp{srs} -r bilinear IN OUT.tif)"
        )
    if dataset.rpcs:
        return (
            f"{role} is georeferenced by rational polynomial coefficients (RPCs) only, not by a grid; "
            "orthorectify it first (e.g. gdalwarp -rpc IN OUT.tif)"
        )
    return f"{role} has no coordinate reference system; assign one (e.g. gdal_edit.py -a_srs EPSG:xxxx)"


def open_raster(path: str | Path, role: str) -> rasterio.DatasetReader:
    """Open ``path`` for reading and check it can serve as ``role`` (``"BEFORE"`` or ``"AFTER"``).

    ``path`` is a file or any dataset name GDAL opens (a GeoPackage raster table, a NetCDF or HDF
    subdataset, a VRT, a ``/vsi`` path).

    Raises:
        UnreadableRasterError: missing, corrupt, or not a raster GDAL reads.
        MissingCrsError: the raster has no coordinate reference system.
    """
    name, remote = str(path), is_remote(path)
    if not Path(name).exists() and not _gdal_name(name):
        raise UnreadableRasterError(f"{role} raster not found", path)
    try:
        with warnings.catch_warnings(), reading_env(name):
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # reported below, as MissingCrsError
            dataset = rasterio.open(name)
    except RasterioError as error:
        what = "could not be opened over the network" if remote else "is not a raster GDAL can read"
        raise UnreadableRasterError(f"{role} {what} ({gdal_reason(error)})", path) from None
    try:
        if dataset.crs is None:
            raise MissingCrsError(_unplaced(dataset, role), path)
        if dataset.count == 0:
            raise UnreadableRasterError(f"{role} has no bands", path)
        # Decode one block now, so a corrupt file is reported before any output exists.
        dataset.read(1, window=Window(0, 0, min(dataset.width, 256), min(dataset.height, 256)))
    except RasterioError as error:
        dataset.close()
        raise UnreadableRasterError(_damaged(role, error, remote=remote), path) from None
    except BaseException:
        dataset.close()
        raise
    return dataset


def overlap_grid(before: rasterio.DatasetReader, after: rasterio.DatasetReader, paths: tuple[str, str]) -> Grid:
    """BEFORE's grid clipped to the overlap of both footprints (in BEFORE's CRS)."""
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
    return Grid(before.crs.to_string(), before.window_transform(window), int(window.width), int(window.height))


def area_window(grid: Grid, area: Area | None) -> Window:
    """The window of ``grid`` that covers ``area`` (the whole grid when there is none)."""
    if area is None:
        return Window(0, 0, grid.width, grid.height)
    window = covering_window(grid.transform, grid.width, grid.height, [area.geometry.bounds])
    if window is None or not area.geometry.intersects(shapely.box(*grid.bounds)):
        why = "" if area.assumed is None else f"; {area.assumed}"
        raise NoOverlapError(f"the AOI does not overlap the area both dates cover{why}", area.source)
    return window


def check_has_data(dataset: rasterio.DatasetReader, path: str, role: str, grid: Grid, size: int = 256) -> None:
    """Refuse a raster with no valid pixel (all nodata, all masked or all NaN) where the dates overlap,
    judged on a decimated read of that area in the raster's own grid."""
    bounds = transform_bounds(grid.crs, dataset.crs, *grid.bounds, densify_pts=21)
    window = covering_window(dataset.transform, dataset.width, dataset.height, [bounds])
    if window is None:
        return
    factor = max(1.0, max(window.height, window.width) / size)
    out_shape = (max(1, round(window.height / factor)), max(1, round(window.width / factor)))

    def read(part: Window, shape: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
        bands_shape = None if shape is None else (dataset.count, *shape)
        masks = dataset.read_masks(window=part, out_shape=bands_shape)
        data = dataset.read(window=part, out_shape=bands_shape, out_dtype="float32")
        return data, np.all(masks > 0, axis=0) & np.all(np.isfinite(data), axis=0)

    try:
        lattice_only = use_lattice(dataset, is_remote(path), window, out_shape)
        _, valid = read_decimated(read, window, out_shape, lattice_only)
    except RasterioError as error:
        raise UnreadableRasterError(_damaged(role, error, remote=is_remote(path)), path) from None
    if not valid.any():
        raise NoDataError(f"{role} has no valid pixel where the dates overlap (all nodata, masked or NaN)", path)


def has_mask(dataset: rasterio.DatasetReader) -> bool:
    """True when GDAL can tell invalid pixels (nodata, alpha or a mask band)."""
    return any(MaskFlags.all_valid not in flags for flags in dataset.mask_flag_enums)


def labels_onto(labels: rasterio.DatasetReader, grid: Grid | rasterio.DatasetReader) -> WarpedVRT:
    """A label raster resampled by nearest neighbour (classes stay classes) onto ``grid``'s pixels, its
    footprint masked (an alpha band where it has no nodata or mask): ``scd score``'s references and
    ``scd train``'s label rasters alike."""
    return WarpedVRT(
        labels,
        crs=grid.crs,
        transform=grid.transform,
        width=grid.width,
        height=grid.height,
        resampling=Resampling.nearest,
        add_alpha=not has_mask(labels),
    )


class PixelMask(Protocol):
    """Pixels a date must not be read at, beyond its own nodata: a cloud mask
    (:class:`scd_core.geo.masks.MaskReader`), on the windows of the same grid as its date's reader."""

    def read(self, window: Window, out_shape: tuple[int, int] | None = None) -> np.ndarray:
        """True where ``window``'s pixels are masked (h×w bool; ``out_shape`` decimates)."""
        ...

    def close(self) -> None:
        """Close what the mask opened itself."""
        ...


class WindowReader:
    """Reads the chosen bands and the validity of windows of the output grid from one date.

    Not thread-safe (GDAL handles are not): the engine gives each reader to one thread at a time.
    """

    def __init__(
        self,
        dataset: rasterio.DatasetReader,
        bands: Sequence[int],
        grid: Grid,
        path: str,
        role: str,
        warp_grid: Grid | None = None,
        *,
        mask: PixelMask | None = None,
        resampling: Resampling | None = None,
        dtype: str = "float32",
    ) -> None:
        """``warp_grid`` (a grid that ``grid`` is a window of; default ``grid``) is the grid a resampled
        date is warped onto. GDAL warps a virtual raster in chunks of its own blocks, and a pixel's
        value depends slightly on the chunk it was warped in, so every run over the same overlap
        (a whole run, a ``--bbox`` sub-area, a block of a split run) warps onto the whole overlap and
        reads its windows from there: the same pixel gets the same value in all of them.

        ``mask``'s pixels are invalid as nodata is (the reader closes it); ``resampling`` is the warp's
        (default: average where the date's pixels are at least twice as fine, else bilinear) and
        ``dtype`` that of the values read (a class mask's integers read as they are)."""
        self.path, self.role, self.bands = path, role, list(bands)
        self.dataset, self.mask, self.dtype = dataset, mask, dtype
        offset = (
            pixel_offset(grid.transform, dataset.transform)
            if dataset.crs == rasterio.CRS.from_user_input(grid.crs)
            else None
        )
        self.resampled = offset is None
        self.offset: tuple[int, int] = (0, 0) if offset is None else offset
        self.source: rasterio.DatasetReader | WarpedVRT = dataset
        if offset is None:
            warp = warp_grid or grid
            inside = pixel_offset(grid.transform, warp.transform)
            if inside is None:
                raise ValueError("grid must be a window of warp_grid")
            self.offset = inside
            ratio = abs(grid.transform.a) / max(abs(dataset.res[0]), 1e-300)
            self.source = WarpedVRT(
                dataset,
                crs=warp.crs,
                transform=warp.transform,
                width=warp.width,
                height=warp.height,
                resampling=(Resampling.average if ratio >= 2 else Resampling.bilinear)
                if resampling is None
                else resampling,
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
                self.bands, window=source_window, boundless=boundless, out_shape=shape, out_dtype=self.dtype
            )
            masks = self.source.read_masks(self.bands, window=source_window, boundless=boundless, out_shape=shape)
        except RasterioError as error:
            raise UnreadableRasterError(_damaged(self.role, error, window, is_remote(self.path)), self.path) from None
        valid = np.all(masks > 0, axis=0) & np.all(np.isfinite(data), axis=0)
        if self.mask is not None:
            valid &= ~self.mask.read(window, out_shape)
        return data, valid

    def overview(
        self, max_size: int, window: Window | None = None, lattice: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """``window`` (default: the whole grid), decimated so its longer side is at most ``max_size``;
        with ``lattice``, sampled by :func:`.sampling.lattice`'s windows (see :meth:`needs_lattice`)."""
        window, out_shape = self._decimated(max_size, window)
        return read_decimated(self.read, window, out_shape, lattice)

    def needs_lattice(self, max_size: int, window: Window | None = None) -> bool:
        """True when :meth:`overview` would fetch every block of a remote raster (it has no overviews)."""
        return use_lattice(self.dataset, is_remote(self.path), *self._decimated(max_size, window))

    def _decimated(self, max_size: int, window: Window | None) -> tuple[Window, tuple[int, int]]:
        window = window or Window(0, 0, self.shape[1], self.shape[0])
        height, width = int(window.height), int(window.width)
        factor = max(1.0, max(height, width) / max_size)
        return window, (max(1, round(height / factor)), max(1, round(width / factor)))

    def close(self) -> None:
        """Close what the reader opened itself (a warped view, its mask's); the dataset is its owner's to close."""
        if self.source is not self.dataset:
            self.source.close()
        if self.mask is not None:
            self.mask.close()


#: GDAL's virtual file systems that read a local file: archives and compressed files.
ARCHIVES = ("/vsizip/", "/vsitar/", "/vsigzip/", "/vsi7z/", "/vsirar/")


def _archive(name: str) -> Path | None:
    """The local file an archive's name reads (``/vsizip/a.zip/b.tif`` → ``a.zip``), else None."""
    inner = name
    while inner.startswith(ARCHIVES):
        inner = inner[inner.index("/", 1) + 1 :]
    if inner == name:
        return None
    if inner.startswith("{"):  # /vsizip/{a.zip}/b.tif: the braces delimit the archive
        inner = inner[1 : inner.find("}")]
    return next((f for f in (Path(inner), *Path(inner).parents) if f.is_file()), None)


def main_file(source: str) -> Path | None:
    """The local file a raster lives in: itself, for a GDAL name the first file GDAL opens for it
    (``GPKG:f.gpkg:table`` → ``f.gpkg``) or the archive it is read from (``/vsizip/a.zip/b.tif`` →
    ``a.zip``); None where it lives in no local file (``/vsicurl/``, ``/vsimem/``)."""
    if Path(source).is_file():
        return Path(source)
    if is_remote(source):
        return None
    try:
        with rasterio.open(source) as dataset:
            first = dataset.files[0] if dataset.files else source
    except RasterioError as error:
        raise UnreadableRasterError(f"not a raster GDAL can read ({gdal_reason(error)})", source) from None
    return Path(first) if Path(first).is_file() else _archive(first)


#: Longer side, in pixels, of the decimated read that fingerprints a remote raster.
REMOTE_FINGERPRINT_SIZE = 256


def raster_fingerprint(source: str, rows: int = 256) -> str:
    """SHA-256 of the file a raster lives in (:func:`main_file`), so that a run can tell later which
    exact inputs it used; of what GDAL reads of it (georeferencing, metadata, every pixel and mask)
    where it lives in no local file. A remote raster (:func:`is_remote`) is not fetched whole for it:
    its pixels and masks count decimated to :data:`REMOTE_FINGERPRINT_SIZE`, which its overviews
    serve, so a change too small to show there goes unseen."""
    path = main_file(source)
    if path is not None:
        return fingerprint(path)
    digest = hashlib.sha256()
    try:
        with reading_env(source), rasterio.open(source) as dataset:
            digest.update(repr(_described(dataset)).encode())
            for window, shape in _fingerprint_reads(dataset, rows, is_remote(source)):
                digest.update(dataset.read(window=window, out_shape=shape).tobytes())
                digest.update(dataset.read_masks(window=window, out_shape=shape).tobytes())
    except RasterioError as error:
        raise UnreadableRasterError(_damaged("the raster", error, remote=is_remote(source)), source) from None
    return digest.hexdigest()


def _described(dataset: rasterio.DatasetReader) -> tuple:
    return (
        dataset.crs,
        dataset.transform,
        dataset.shape,
        dataset.dtypes,
        dataset.nodatavals,
        dataset.descriptions,
        dataset.colorinterp,
        dataset.tags(),
    )


def _fingerprint_reads(
    dataset: rasterio.DatasetReader, rows: int, remote: bool
) -> Iterator[tuple[Window, tuple[int, int, int] | None]]:
    """The reads that fingerprint a raster: every row in strips of ``rows``, or for a remote one the
    whole raster decimated to :data:`REMOTE_FINGERPRINT_SIZE` in one read (without overviews, the
    full-resolution windows of :func:`.sampling.lattice`)."""
    if not remote:
        for row in range(0, dataset.height, rows):
            yield Window(0, row, dataset.width, min(rows, dataset.height - row)), None
        return
    whole = Window(0, 0, dataset.width, dataset.height)
    factor = max(1.0, max(dataset.height, dataset.width) / REMOTE_FINGERPRINT_SIZE)
    out_shape = (max(1, round(dataset.height / factor)), max(1, round(dataset.width / factor)))
    if use_lattice(dataset, remote, whole, out_shape):
        yield from ((part, None) for part, _, _ in lattice(whole, out_shape))
    else:
        yield whole, (dataset.count, *out_shape)


def fingerprint(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, to tell later which exact inputs a run used."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
