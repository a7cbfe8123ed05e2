"""From the change map to polygons: one valid polygon per connected region of one change type.

Polygons come from GDAL's polygoniser run on the change map *file* (``rasterio.features.shapes`` on a
band), which reads it scanline by scanline: memory does not grow with the raster, and a region that
crosses tile, strip or panel borders is one feature because the map is polygonised whole.
Connectivity is 4 (pixels sharing an edge), as in the raster's connected regions.

Each feature's mean change probability is measured by burning the polygons back, block by block, onto
the probability map; its area is geodesic, on the ellipsoid of the CRS (``pyproj.Geod``), so
``area_m2`` is in true square metres in any CRS, geographic (EPSG:4326) and Web Mercator included.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
import shapely
from pyproj import CRS, Geod, Transformer
from rasterio import windows
from rasterio.features import rasterize, shapes
from rasterio.windows import Window

from scd_core.geo.grid import Grid
from scd_core.geopackage import GEOPACKAGE_OPTIONS
from scd_core.legend import split_change_code

LAYER = "changes"
#: Polygon edges are cut into pieces of at most this many pixels before areas are measured, so edges
#: that are straight on the map follow the ground (a parallel is not a geodesic).
SEGMENT_PIXELS = 32
#: Metres in a degree of latitude, to turn ``--simplify`` metres into degrees on geographic grids.
METRES_PER_DEGREE = 111_320.0
_BLOCK = 1024


def polygonize(change_type: Path, changed_mask: Path) -> tuple[np.ndarray, np.ndarray]:
    """Polygons (in the raster's CRS) and change codes of the connected changed regions."""
    shapes_found, codes = [], []
    with rasterio.open(change_type) as values, rasterio.open(changed_mask) as mask:
        for geojson, code in shapes(
            rasterio.band(values, 1), mask=rasterio.band(mask, 1), connectivity=4, transform=values.transform
        ):
            shapes_found.append(shapely.geometry.shape(geojson))
            codes.append(int(code))
    geometries = np.array(shapes_found, dtype=object)
    invalid = ~shapely.is_valid(geometries) if len(geometries) else np.zeros(0, bool)
    if invalid.any():
        geometries[invalid] = shapely.make_valid(geometries[invalid], method="structure", keep_collapsed=False)
    return geometries, np.array(codes, dtype=np.uint8)


def mean_probabilities(geometries: np.ndarray, probability: Path, scale: float, grid: Grid) -> np.ndarray:
    """Mean of the probability map (stored value × ``scale``) inside each polygon, block by block."""
    sums = np.zeros(len(geometries))
    counts = np.zeros(len(geometries))
    if not len(geometries):
        return sums
    tree = shapely.STRtree(geometries)
    with rasterio.open(probability) as source:
        for row in range(0, grid.height, _BLOCK):
            for col in range(0, grid.width, _BLOCK):
                window = Window(col, row, min(_BLOCK, grid.width - col), min(_BLOCK, grid.height - row))
                hits = tree.query(shapely.box(*windows.bounds(window, grid.transform)), predicate="intersects")
                if not len(hits):
                    continue
                ids = rasterize(
                    zip(geometries[hits], hits + 1, strict=True),
                    out_shape=(int(window.height), int(window.width)),
                    transform=windows.transform(window, grid.transform),
                    fill=0,
                    dtype="int32",
                )
                inside = ids > 0
                values = source.read(1, window=window)[inside] * scale
                sums += np.bincount(ids[inside] - 1, weights=values, minlength=len(geometries))
                counts += np.bincount(ids[inside] - 1, minlength=len(geometries))
    return sums / np.maximum(counts, 1)


def geodesic_areas(geometries: np.ndarray, crs: str, pixel_size: float) -> np.ndarray:
    """Areas in m² on the CRS's ellipsoid of polygons given in ``crs`` (pixel size in CRS units)."""
    if not len(geometries):
        return np.zeros(0)
    grid_crs = CRS.from_user_input(crs)
    geod = grid_crs.get_geod() or Geod(ellps="WGS84")
    pieces = shapely.segmentize(geometries, SEGMENT_PIXELS * pixel_size)
    if not grid_crs.is_geographic:
        to_lonlat = Transformer.from_crs(grid_crs, grid_crs.geodetic_crs, always_xy=True)
        pieces = shapely.transform(pieces, lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])))
    pieces = shapely.orient_polygons(pieces)
    return np.array([abs(geod.geometry_area_perimeter(piece)[0]) for piece in pieces])


def change_matrix(codes: np.ndarray, areas_m2: np.ndarray, num_classes: int) -> np.ndarray:
    """The N × N from-to matrix in hectares (row: date-1 class, column: date-2) of N classes."""
    matrix = np.zeros((num_classes, num_classes))
    for code, area in zip(codes, areas_m2, strict=True):
        source, target = split_change_code(int(code), num_classes)
        matrix[source - 1, target - 1] += area / 10_000
    return matrix


def simplify_tolerance(metres: float, crs: str) -> float:
    """``metres`` in the CRS's units (degrees of latitude on a geographic CRS)."""
    grid_crs = CRS.from_user_input(crs)
    if grid_crs.is_geographic:
        return metres / METRES_PER_DEGREE
    return metres / grid_crs.axis_info[0].unit_conversion_factor


def simplified(geometries: np.ndarray, metres: float, crs: str) -> np.ndarray:
    """Outlines simplified with a tolerance of ``metres`` (``--simplify``), each polygon kept valid
    (neighbouring polygons may then no longer share edges exactly). Their areas are no longer the
    regions': measure them again."""
    outlines = shapely.simplify(geometries, simplify_tolerance(metres, crs), preserve_topology=True)
    return np.where(shapely.is_valid(outlines), outlines, shapely.make_valid(outlines))


def write_changes(
    path: Path,
    geometries: np.ndarray,
    codes: np.ndarray,
    areas_m2: np.ndarray,
    mean_prob: np.ndarray,
    crs: str,
    class_names: Sequence[str] | None,
) -> None:
    """Write the ``changes`` layer of a GeoPackage, one feature per polygon, ``areas_m2`` those of
    ``geometries`` as written. With ``class_names`` (those of a semantic model, "no change" first)
    each polygon has its from and to classes; without (a change-only model, whose only code is 1,
    change) it has ``change_type``, ``area_m2`` and ``mean_prob`` alone, as no class is known."""
    import pyogrio.raw

    multi = len(geometries) and any(shapely.get_type_id(geometries) != shapely.GeometryType.POLYGON)
    fields, data = ["change_type"], [codes.astype(np.int32)]
    if class_names is not None:
        pairs = [split_change_code(int(c), len(class_names) - 1) for c in codes]
        sources = np.array([p[0] for p in pairs], dtype=np.int32)
        targets = np.array([p[1] for p in pairs], dtype=np.int32)
        fields += ["from_class", "to_class", "from_name", "to_name"]
        data += [
            sources,
            targets,
            np.array([class_names[s] for s in sources], dtype=object),
            np.array([class_names[t] for t in targets], dtype=object),
        ]
    fields += ["area_m2", "mean_prob"]
    data += [areas_m2.astype(np.float64), np.round(mean_prob, 4).astype(np.float64)]
    pyogrio.raw.write(
        path,
        geometry=shapely.to_wkb(geometries) if len(geometries) else np.array([], dtype=object),
        field_data=data,
        fields=fields,
        layer=LAYER,
        driver="GPKG",
        geometry_type="MultiPolygon" if multi else "Polygon",
        promote_to_multi=bool(multi),
        crs=CRS.from_user_input(crs).to_wkt(),
        dataset_options=GEOPACKAGE_OPTIONS,
    )
