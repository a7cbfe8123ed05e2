"""``scd zones``: a run's change by zone (districts, parcels, watersheds): the from × to hectares of each.

Each zone polygon (any CRS; reprojected to the map's) is burnt onto the map's grid by pixel centre in
strips of its own bounding window, so a zone costs what it covers and memory stays flat. Zones may
overlap each other and the run only in part: a pixel counts in every zone that covers it, and a zone's
hectares are those of the run's valid pixels inside it. Areas are geodesic, row by row
(:func:`scd_core.accounting.strata.row_areas`), as ``scd sample``'s and ``scd detect``'s are.

Outputs, side by side:

``zones.csv``
    long format, ``zone, from, to, hectares``: one row per zone and change type present in it;
``zones.gpkg``
    the zone layer with ``changed_ha``, ``unchanged_ha`` and ``changed_share`` joined to its features.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import geopandas
import numpy as np
import rasterio
import shapely
from rasterio.features import geometry_mask
from rasterio.windows import Window, from_bounds

from scd_core.accounting.strata import NODATA, STRIP, code_names, row_areas
from scd_core.atomic import atomic_output_path, atomic_write
from scd_core.errors import NoOverlapError, OutputExistsError, ScdInputError
from scd_core.geopackage import GEOPACKAGE_OPTIONS

MAP = "change_type.tif"


def read_zones(path: str | Path, field: str, crs: Any) -> geopandas.GeoDataFrame:
    """The zone layer in the map's ``crs``; ``field`` must exist."""
    try:
        zones = geopandas.read_file(path)
    except Exception as error:  # pyogrio raises its own types for every kind of unreadable file
        raise ScdInputError(f"cannot read the zones ({error})", path) from None
    if field not in zones.columns:
        fields = ", ".join(c for c in zones.columns if c != zones.geometry.name) or "none"
        raise ScdInputError(f"the zones have no field {field!r} (their fields: {fields})", path)
    if zones.crs is None:
        raise ScdInputError("the zones have no CRS: set one (ogr2ogr -a_srs EPSG:...)", path)
    return zones[zones.geometry.notna() & ~zones.geometry.is_empty].to_crs(crs)


def zone_hectares(dataset: rasterio.DatasetReader, geometry: Any, areas: np.ndarray) -> np.ndarray:
    """Hectares of each change code (0..254) of the map inside ``geometry``."""
    totals = np.zeros(NODATA)
    bounds = from_bounds(*geometry.bounds, transform=dataset.transform)
    left, top = max(math.floor(bounds.col_off), 0), max(math.floor(bounds.row_off), 0)
    right = min(math.ceil(bounds.col_off + bounds.width), dataset.width)
    bottom = min(math.ceil(bounds.row_off + bounds.height), dataset.height)
    if right <= left or bottom <= top:  # the zone lies off the map
        return totals
    window = Window(left, top, right - left, bottom - top)
    for top in range(int(window.row_off), int(window.row_off + window.height), STRIP):
        strip = Window(window.col_off, top, window.width, min(STRIP, int(window.row_off + window.height) - top))
        codes = dataset.read(1, window=strip)
        inside = ~geometry_mask([geometry], codes.shape, dataset.window_transform(strip)) & (codes != NODATA)
        rows = np.broadcast_to(areas[top : top + codes.shape[0], None], codes.shape)
        totals += np.bincount(codes[inside], weights=rows[inside], minlength=NODATA)[:NODATA] / 10_000
    return totals


def zones_over(
    path: str | Path, field: str, crs: Any, bounds: tuple[float, float, float, float]
) -> geopandas.GeoDataFrame:
    """The zone layer at ``path`` in ``crs``, checked: ``field`` exists, and a zone overlaps ``bounds``
    (the map's, in ``crs``)."""
    zones = read_zones(path, field, crs)
    if zones.empty or not zones.intersects(shapely.box(*bounds)).any():
        raise NoOverlapError("no zone overlaps the run's change map", path)
    return zones


def write_zone_statistics(
    map_path: Path, zones: geopandas.GeoDataFrame, field: str, output: Path, layer: Path
) -> dict[str, Any]:
    """Write the long table ``output`` and the zone layer ``layer`` of the change map at ``map_path``
    (each whole); returns the totals."""
    with rasterio.open(map_path) as dataset:
        names = code_names(dataset, map_path)
        areas = row_areas(dataset)
        hectares = np.array([zone_hectares(dataset, geometry, areas) for geometry in zones.geometry])
    rows = []
    for zone, totals in zip(zones[field], hectares, strict=True):
        for code in np.flatnonzero(totals[1:] > 0) + 1:
            before, _, after = names.get(int(code), f"code {code}").partition(" → ")
            rows.append([zone, before, after or before, round(float(totals[code]), 6)])
    zones = zones.assign(
        changed_ha=hectares[:, 1:].sum(axis=1),
        unchanged_ha=hectares[:, 0],
        changed_share=hectares[:, 1:].sum(axis=1) / np.maximum(hectares.sum(axis=1), 1e-12),
    )
    with atomic_write(output, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["zone", "from", "to", "hectares"])
        writer.writerows(rows)
    with atomic_output_path(layer) as staged:
        zones.to_file(staged, layer="zones", driver="GPKG", dataset_options=GEOPACKAGE_OPTIONS)
    return {"zones": len(zones), "changed_ha": float(hectares[:, 1:].sum()), "csv": str(output), "gpkg": str(layer)}


def zone_statistics(
    out_dir: str | Path, zones_path: str | Path, field: str, output: str | Path, overwrite: bool = False
) -> dict[str, Any]:
    """``scd zones``: write ``output`` (zones.csv) and the GeoPackage beside it for the run in
    ``out_dir``; returns the totals."""
    path, output = Path(out_dir) / MAP, Path(output)
    if not path.is_file():
        raise ScdInputError(f"no {MAP}: give the output folder of scd detect", out_dir)
    layer = output.with_suffix(".gpkg")
    for target in (output, layer):
        if target.exists() and not overwrite:
            raise OutputExistsError("exists: choose another file or --overwrite", target)
    with rasterio.open(path) as dataset:
        code_names(dataset, path)  # a change map of scd detect, before the zones are read
        zones = zones_over(zones_path, field, dataset.crs, tuple(dataset.bounds))
    return write_zone_statistics(path, zones, field, output, layer)
