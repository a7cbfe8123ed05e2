"""The strata of a run's change map: which change types each holds, its pixels and its geodesic area.

``change-types`` (the default) makes each change type the map holds a stratum, and no change another;
``change`` two strata, change and no change; a YAML file groups change types into named strata
(``{built-up gain: ["low vegetation → building", 17, ...]}``, types by name or code; types it does not
list form "other change", and no change stays its own unless listed). Nodata (255) is never a
stratum.

Areas are geodesic, as ``scd detect``'s are: each pixel's area on the CRS's ellipsoid, taken row by
row at the grid's middle column (exact for a geographic grid, where a row's pixels are equal; within
a projected zone a row's pixels differ by well under 0.1 %). The map is read in strips, so memory does
not grow with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import yaml
from pyproj import CRS, Geod, Transformer
from rasterio.windows import Window

from scd_core.errors import InvalidOptionError, ScdInputError

NODATA = 255
#: Rows read at a time.
STRIP = 256


@dataclass(frozen=True)
class Strata:
    """Strata of a change map: their names, and the stratum of each change code (-1: none, nodata)."""

    names: list[str]
    of_code: np.ndarray  #: 256 entries: the stratum index of each byte value
    code_names: dict[int, str]  #: the map's change-type names by code


def strips(height: int, width: int) -> Iterator[Window]:
    """The map's rows, :data:`STRIP` at a time."""
    for top in range(0, height, STRIP):
        yield Window(0, top, width, min(STRIP, height - top))


def row_areas(dataset: rasterio.DatasetReader) -> np.ndarray:
    """Each row's pixel area in m² on the CRS's ellipsoid, at the middle column (see the docstring)."""
    crs = CRS.from_user_input(dataset.crs)
    geod = crs.get_geod() or Geod(ellps="WGS84")
    rows = np.arange(dataset.height)
    col = dataset.width / 2
    corners = [dataset.transform @ (col + dc, rows + dr) for dc, dr in ((0, 0), (1, 0), (1, 1), (0, 1))]
    xs, ys = np.array([c[0] for c in corners]), np.array([c[1] for c in corners])
    if not crs.is_geographic:
        to_lonlat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
        xs, ys = to_lonlat.transform(xs, ys)
    return np.array([abs(geod.polygon_area_perimeter(xs[:, r], ys[:, r])[0]) for r in rows])


def code_hectares(dataset: rasterio.DatasetReader) -> np.ndarray:
    """Geodesic hectares of each change code (0..254) of the whole map, nodata left out."""
    areas, totals = row_areas(dataset), np.zeros(NODATA)
    for window in strips(dataset.height, dataset.width):
        codes = dataset.read(1, window=window)
        rows = np.broadcast_to(areas[window.row_off : window.row_off + window.height, None], codes.shape)
        valid = codes != NODATA
        totals += np.bincount(codes[valid], weights=rows[valid], minlength=NODATA)[:NODATA] / 10_000
    return totals


def code_names(dataset: rasterio.DatasetReader, path: str | Path) -> dict[int, str]:
    """The change-type names ``scd detect`` stores in the map's ``scd_class_names`` tag."""
    tag = dataset.tags().get("scd_class_names")
    if not tag:
        raise ScdInputError("not a change map of scd detect (no scd_class_names tag)", path)
    return {int(code): name for code, name in json.loads(tag).items()}


def strata_of(present: np.ndarray, names: dict[int, str], source: str) -> Strata:
    """The strata of a map holding the codes ``present`` (see the module docstring)."""
    of_code = np.full(256, -1, dtype=np.int64)
    if source == "change":
        of_code[0], of_code[1:NODATA] = 0, 1
        return Strata(["no change", "change"], of_code, names)
    if source == "change-types":
        codes = [int(c) for c in present if c != NODATA]
        of_code[codes] = np.arange(len(codes))
        return Strata([names.get(c, f"code {c}") for c in codes], of_code, names)
    return _grouped(Path(source), names, of_code)


def _grouped(path: Path, names: dict[int, str], of_code: np.ndarray) -> Strata:
    try:
        groups = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InvalidOptionError(f"--strata: cannot read the file ({error})", path) from None
    if not isinstance(groups, dict) or not groups:
        raise InvalidOptionError("--strata: give a mapping of stratum names to lists of change types", path)
    by_name = {name: code for code, name in names.items()}
    strata: list[str] = []
    for stratum, members in groups.items():
        strata.append(str(stratum))
        for member in members if isinstance(members, list) else [members]:
            code = member if isinstance(member, int) else by_name.get(str(member).strip())
            if code is None or code not in names:
                raise InvalidOptionError(f"--strata: {member!r} of {stratum!r} is not a change type of the map", path)
            of_code[code] = len(strata) - 1
    if of_code[0] < 0:
        strata.append("no change")
        of_code[0] = len(strata) - 1
    if (of_code[1:NODATA] < 0).any():
        strata.append("other change")
        of_code[1:NODATA][of_code[1:NODATA] < 0] = len(strata) - 1
    return Strata(strata, of_code, names)
