"""The area of interest: a vector file's polygons (``--aoi``) or a box (``--bbox``), in BEFORE's CRS.

Either limits the run: the output grid is clipped to its bounds and pixels outside it are nodata. A
pixel the area touches is inside, at the grid's edge (:func:`~scd_core.geo.grid.covering_window`)
as in its mask (``all_touched``): a box whose corners fall inside pixels gets those pixels whole,
as the full run has them, not a nodata rim.
Outlines in another CRS are densified before they are reprojected, so their edges bend as they
should.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from scd_core.errors import InvalidAoiError, MissingCrsError

#: Vertices added per edge when outlines are reprojected, so curved edges keep their shape.
DENSIFY = 64


def reproject_geometry(geometry: shapely.Geometry, src_crs: str, dst_crs: str) -> shapely.Geometry:
    """``geometry`` in ``dst_crs``, its edges densified first so they bend as they should."""
    from pyproj import CRS, Transformer

    if CRS.from_user_input(src_crs) == CRS.from_user_input(dst_crs):
        return geometry
    xmin, ymin, xmax, ymax = geometry.bounds
    geometry = shapely.segmentize(geometry, max(xmax - xmin, ymax - ymin, 1e-9) / DENSIFY)
    transformer = Transformer.from_crs(src_crs, dst_crs, always_xy=True)
    return shapely.transform(geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def read_aoi(path: str | Path, crs: str) -> shapely.Geometry:
    """The union of the polygons of a vector file (any format OGR reads), in ``crs``."""
    import pyogrio

    path = Path(path)
    if not path.exists():
        raise InvalidAoiError("AOI file not found", path)
    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as error:  # pyogrio raises DataSourceError, DataLayerError, ... for foreign files
        raise InvalidAoiError(f"not a vector file OGR can read ({error})", path) from None
    if frame.crs is None:
        raise MissingCrsError("AOI has no coordinate reference system", path)
    geometry = shapely.union_all(frame.geometry.dropna().values) if len(frame) else shapely.Polygon()
    geometry = shapely.make_valid(geometry) if not geometry.is_valid else geometry
    if geometry.is_empty or geometry.area <= 0:
        raise InvalidAoiError("AOI holds no polygon with an area (empty AOI)", path)
    return reproject_geometry(geometry, frame.crs.to_wkt(), crs)


def parse_bbox(text: str, crs: str) -> shapely.Geometry:
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
    try:
        return reproject_geometry(shapely.box(xmin, ymin, xmax, ymax), box_crs, crs)
    except Exception as error:  # pyproj.exceptions.CRSError and friends
        raise InvalidAoiError(f"--bbox CRS {box_crs!r} is not understood ({error})") from None
