"""The area of interest: a vector file's polygons (``--aoi``) or a box (``--bbox``), in BEFORE's CRS.

Either limits the run: the output grid is clipped to its bounds and pixels outside it are nodata. A
pixel the area touches is inside, at the grid's edge (:func:`~scd_core.geo.grid.covering_window`)
as in its mask (``all_touched``): a box whose corners fall inside pixels gets those pixels whole,
as the full run has them, not a nodata rim.
Outlines in another CRS are densified before they are reprojected, so their edges bend as they
should.

An area's CRS may be assumed rather than stated: a GeoJSON without a ``crs`` member is in EPSG:4326
(longitude, latitude) as RFC 7946 mandates, and a ``--bbox`` without one is in BEFORE's CRS. A file in
the raster's metres then lands nowhere, and the run would process no pixel and "succeed": so an area
whose coordinates cannot be in its CRS (beyond ±180° and ±90° in a geographic one, or that do not
project) is refused, and one that misses the rasters is refused saying how to state its CRS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Transformer

from scd_core.errors import InvalidAoiError, MissingCrsError

#: Vertices added per edge when outlines are reprojected, so curved edges keep their shape.
DENSIFY = 64


def reproject_geometry(geometry: shapely.Geometry, src_crs: str, dst_crs: str) -> shapely.Geometry:
    """``geometry`` in ``dst_crs``, its edges densified first so they bend as they should."""
    if CRS.from_user_input(src_crs) == CRS.from_user_input(dst_crs):
        return geometry
    xmin, ymin, xmax, ymax = geometry.bounds
    geometry = shapely.segmentize(geometry, max(xmax - xmin, ymax - ymin, 1e-9) / DENSIFY)
    transformer = Transformer.from_crs(src_crs, dst_crs, always_xy=True)
    return shapely.transform(geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


@dataclass(frozen=True)
class Area:
    """An area of interest in the run's CRS, where it came from, and why its CRS is assumed where it
    is (advice on how to state it, for the message that refuses an area missing the rasters)."""

    geometry: shapely.Geometry
    source: str | Path
    assumed: str | None = None


def _assumed_crs(path: Path, driver: str, crs: str) -> str | None:
    """Why a vector file's CRS is assumed, and how to state it: a GeoJSON (or GeoJSON sequence)
    without a ``crs`` member is EPSG:4326 by RFC 7946. None where the file states its CRS."""
    if driver not in ("GeoJSON", "GeoJSONSeq"):
        return None
    if driver == "GeoJSON":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            document = None
        if isinstance(document, dict) and "crs" in document:
            return None
    geographic = CRS.from_user_input(crs) == CRS.from_epsg(4326)  # the raster suggests no other CRS
    stated, which = ("EPSG:xxxx", "") if geographic else (_crs_name(crs), ", if they are in the raster's")
    return (
        "a GeoJSON without a CRS is read as EPSG:4326 longitude, latitude (RFC 7946); if its coordinates are "
        f"in another CRS, save it with that CRS (e.g. ogr2ogr -a_srs {stated} aoi.gpkg {path.name}{which})"
    )


def _crs_name(crs: str) -> str:
    """``EPSG:4326`` for a CRS an authority names, else the CRS's own name."""
    parsed = CRS.from_user_input(crs)
    authority = parsed.to_authority()
    return ":".join(authority) if authority else parsed.name


def _wrong_crs(geometry: shapely.Geometry, what: str, source: str | Path, assumed: str | None) -> InvalidAoiError:
    xmin, ymin, xmax, ymax = geometry.bounds
    advice = assumed or "its CRS is wrong; set the right one (e.g. ogr2ogr -a_srs EPSG:xxxx aoi.gpkg AOI)"
    where = f"x {xmin:.10g}..{xmax:.10g}, y {ymin:.10g}..{ymax:.10g}"
    return InvalidAoiError(f"AOI coordinates ({where}) {what}: {advice}", source)


def _placed(geometry: shapely.Geometry, src_crs: str, crs: str, source: str | Path, assumed: str | None) -> Area:
    """``geometry`` of ``src_crs`` in ``crs``, refused where its coordinates cannot be in ``src_crs``:
    beyond ±180°, ±90° in a geographic CRS, or where they do not project."""
    xmin, ymin, xmax, ymax = geometry.bounds
    if CRS.from_user_input(src_crs).is_geographic and (max(-xmin, xmax) > 180 or max(-ymin, ymax) > 90):
        raise _wrong_crs(geometry, f"cannot be longitude, latitude in {_crs_name(src_crs)}", source, assumed)
    placed = reproject_geometry(geometry, src_crs, crs)
    if not np.all(np.isfinite(placed.bounds)):
        raise _wrong_crs(geometry, f"do not project from {_crs_name(src_crs)} to {_crs_name(crs)}", source, assumed)
    return Area(placed, source, assumed)


def read_aoi(path: str | Path, crs: str) -> Area:
    """The union of the polygons of a vector file (any format OGR reads), in ``crs``."""
    import pyogrio

    path = Path(path)
    if not path.exists():
        raise InvalidAoiError("AOI file not found", path)
    try:
        frame = pyogrio.read_dataframe(path)
        driver = pyogrio.read_info(path)["driver"]
    except Exception as error:  # pyogrio raises DataSourceError, DataLayerError, ... for foreign files
        raise InvalidAoiError(f"not a vector file OGR can read ({error})", path) from None
    if frame.crs is None:
        raise MissingCrsError(
            f"AOI has no coordinate reference system; save it with one (e.g. ogr2ogr -a_srs {_crs_name(crs)} "
            f"aoi.gpkg {path.name} when its coordinates are in the raster's CRS)",
            path,
        )
    geometry = shapely.union_all(frame.geometry.dropna().values) if len(frame) else shapely.Polygon()
    geometry = shapely.make_valid(geometry) if not geometry.is_valid else geometry
    if geometry.is_empty or geometry.area <= 0:
        raise InvalidAoiError("AOI holds no polygon with an area (empty AOI)", path)
    return _placed(geometry, frame.crs.to_wkt(), crs, path, _assumed_crs(path, driver, crs))


def parse_bbox(text: str, crs: str) -> Area:
    """``xmin,ymin,xmax,ymax[,CRS]`` as a polygon in ``crs`` (the box's own CRS defaults to ``crs``)."""
    parts = [p.strip() for p in text.split(",")]
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in parts[:4])
    except ValueError:
        raise InvalidAoiError(f"--bbox takes xmin,ymin,xmax,ymax[,CRS], got {text!r}") from None
    if len(parts) not in (4, 5):
        raise InvalidAoiError(f"--bbox takes xmin,ymin,xmax,ymax[,CRS], got {text!r}")
    if not (xmin < xmax and ymin < ymax):
        raise InvalidAoiError(f"--bbox {text!r} is empty: need xmin < xmax and ymin < ymax")
    box_crs = parts[4] if len(parts) == 5 else crs
    assumed = (
        None
        if len(parts) == 5
        else f"a --bbox without a CRS is in BEFORE's ({_crs_name(crs)}); give the box's CRS as a fifth value "
        f"(e.g. --bbox {text},EPSG:4326)"
    )
    try:
        CRS.from_user_input(box_crs)
    except Exception as error:  # pyproj.exceptions.CRSError and friends
        raise InvalidAoiError(f"--bbox CRS {box_crs!r} is not understood ({error})") from None
    return _placed(shapely.box(xmin, ymin, xmax, ymax), box_crs, crs, "--bbox", assumed)
