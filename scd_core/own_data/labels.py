"""A pair's labels, in any of PAIRS.csv's five forms, as the two per-date label maps the trainer reads.

Every form lands on BEFORE's grid over the pair's overlap (the grid of :mod:`.imagery`): rasters are
warped there by nearest neighbour (classes stay classes), vector layers (GeoPackage, GeoJSON,
FlatGeobuf, Shapefile; any CRS) are reprojected and burnt in (a pixel belongs to the polygon that covers
its centre; a later polygon wins over an earlier one). The per-date maps hold

* 0 where the ground did not change,
* 1..N the class of each date where it changed,
* :data:`~scd_core.labels.CHANGED` where it changed between classes nobody labelled (binary forms),
* :data:`~scd_core.labels.IGNORE` where nothing is known: a label's nodata, outside a label raster,
  outside every polygon (unless ``--unlabelled no-change``), or nodata in either date's imagery.

Forms: ``change`` (values above 0 are change); ``label1``/``label2`` (0 no change, 1..N; a pixel that is
"no change" on one date and a class on the other is ignored, as SECOND's loss has no target for it);
``fromto`` (from-to codes of :func:`scd_core.labels.change_code`; a same-class code is a change
between two labels of one class); ``labels`` (change polygons: with ``--change-field`` a value above 0,
``true`` or ``yes`` is change, anything else no change; without it every polygon is change; with
``--from-field``/``--to-field`` a polygon whose two classes agree is no change); ``labels1``/``labels2``
(land cover of each date by ``--class-field``: where both dates are labelled, a change is where they
differ).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import geopandas
import numpy as np
import rasterio
import shapely
from rasterio.errors import RasterioError
from rasterio.features import rasterize
from rasterio.warp import transform_bounds

from scd_core.errors import NoOverlapError, ScdInputError, UnreadableRasterError
from scd_core.geo.grid import Grid
from scd_core.geo.rasters import labels_onto
from scd_core.labels import CHANGED, IGNORE, NO_CHANGE, LabelSet
from scd_core.own_data.table import TrainingPair

UNLABELLED = ("ignore", "no-change")
#: Burnt where no polygon lies, before ``--unlabelled`` decides what it means.
_NONE = -1
_TRUE = ("true", "yes", "y")


@dataclass(frozen=True)
class LabelOptions:
    """How vector labels are read (``scd train``'s ``--change-field``, ``--from-field``, ``--to-field``,
    ``--class-field``, ``--unlabelled``)."""

    change_field: str | None = None
    from_field: str | None = None
    to_field: str | None = None
    class_field: str | None = None
    unlabelled: str = "ignore"


def read_vector(path: str, fields: Iterable[str | None], grid: Grid, pair: TrainingPair) -> geopandas.GeoDataFrame:
    """The layer at ``path`` in ``grid``'s CRS; every field in ``fields`` must exist."""
    try:
        frame = geopandas.read_file(path)
    except Exception as error:  # pyogrio raises its own types for every kind of unreadable file
        raise ScdInputError(f"pair {pair.id!r}: cannot read the label layer ({error})", path) from None
    for field in fields:
        if field is not None and field not in frame.columns:
            columns = ", ".join(c for c in frame.columns if c != frame.geometry.name) or "none"
            raise ScdInputError(
                f"pair {pair.id!r}: the label layer has no field {field!r} (its fields: {columns})", path
            )
    if frame.crs is None:
        raise ScdInputError(f"pair {pair.id!r}: the label layer has no CRS: set one (ogr2ogr -a_srs EPSG:...)", path)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty].to_crs(grid.crs)
    if frame.empty or not frame.geometry.intersects(shapely.box(*grid.bounds)).any():
        raise NoOverlapError(f"pair {pair.id!r}: no label polygon overlaps the pair's imagery", path)
    return frame


def burn(frame: geopandas.GeoDataFrame, values: Iterable[int], grid: Grid) -> np.ndarray:
    """``values`` (one per polygon) burnt onto ``grid``; :data:`_NONE` where no polygon lies."""
    shapes = [(geometry, int(value)) for geometry, value in zip(frame.geometry, values, strict=True)]
    return rasterize(shapes, (grid.height, grid.width), fill=_NONE, transform=grid.transform, dtype="int32")


def read_raster(path: str, grid: Grid, pair: TrainingPair) -> np.ndarray:
    """Band 1 of a label raster warped onto ``grid`` (nearest neighbour) as int64; :data:`_NONE` at its
    nodata and outside it."""
    try:
        with rasterio.open(path) as dataset:
            bounds = transform_bounds(dataset.crs, grid.crs, *dataset.bounds, densify_pts=21)
            box = shapely.box(*bounds)
            if not box.intersects(shapely.box(*grid.bounds)) or box.intersection(shapely.box(*grid.bounds)).area == 0:
                raise NoOverlapError(f"pair {pair.id!r}: the label raster does not overlap the pair's imagery", path)
            with labels_onto(dataset, grid) as warped:
                values = warped.read(1).astype(np.int64)
                known = warped.read_masks(1) > 0
    except RasterioError as error:
        raise UnreadableRasterError(f"pair {pair.id!r}: cannot read the label raster ({error})", path) from None
    return np.where(known, values, _NONE)


def _check_codes(codes: np.ndarray, highest: int, path: str, pair: TrainingPair, what: str) -> None:
    bad = np.unique(codes[(codes != _NONE) & ((codes < 0) | (codes > highest))])
    if bad.size:
        raise ScdInputError(
            f"pair {pair.id!r}: {what} {bad[:6].tolist()} not in the class table (0..{highest}); "
            "give the classes with --classes FILE.yaml",
            path,
        )


def class_code(value: Any, table: LabelSet, field: str, path: str, pair: TrainingPair) -> int:
    """The code (1..N) of a vector label's class ``value``: a code, or a name of the table."""
    names = table.class_names()[1:]
    if isinstance(value, str) and value.strip() in names:
        return names.index(value.strip()) + 1
    try:
        code = int(value)
    except (TypeError, ValueError):
        code = -1
    if not 1 <= code <= len(names) or float(value) != code:
        raise ScdInputError(
            f"pair {pair.id!r}: field {field!r} holds {value!r}, not a class of the table ({', '.join(names)})", path
        )
    return code


def is_change(value: Any) -> bool:
    """A ``--change-field`` value that says "changed"."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE or (
            value.strip().lstrip("-").replace(".", "", 1).isdigit() and float(value) > 0
        )
    return value is not None and value == value and float(value) > 0  # NaN is no value


def _change_form(
    pair: TrainingPair, grid: Grid, table: LabelSet, options: LabelOptions
) -> tuple[np.ndarray, np.ndarray]:
    path = pair.labels[0]
    if pair.form == "change":
        values = read_raster(path, grid, pair)
        marks = np.where(values == _NONE, _NONE, np.where(values > 0, CHANGED, NO_CHANGE))
        return marks, marks
    if options.from_field or options.to_field:
        frame = read_vector(path, (options.from_field, options.to_field), grid, pair)
        fields = (options.from_field, options.to_field)
        codes = [[class_code(v, table, f, path, pair) for v in frame[f]] for f in fields if f is not None]
        if len(codes) != 2:
            raise ScdInputError("--from-field and --to-field come together", path)
        first, second = burn(frame, codes[0], grid), burn(frame, codes[1], grid)
        same = first == second
        return np.where(same & (first != _NONE), NO_CHANGE, first), np.where(
            same & (second != _NONE), NO_CHANGE, second
        )
    frame = read_vector(path, (options.change_field,), grid, pair)
    flags = [is_change(v) for v in frame[options.change_field]] if options.change_field else [True] * len(frame)
    marks = burn(frame, [CHANGED if flag else NO_CHANGE for flag in flags], grid)
    return marks, marks


def per_date(pair: TrainingPair, grid: Grid, table: LabelSet, options: LabelOptions) -> tuple[np.ndarray, np.ndarray]:
    """The pair's two label maps as codes, :data:`_NONE` where unlabelled (before ``--unlabelled``)."""
    n = table.num_classes
    if pair.form in ("change", "labels"):
        return _change_form(pair, grid, table, options)
    if pair.form == "label1":
        first, second = (read_raster(path, grid, pair) for path in pair.labels)
        for codes, path in ((first, pair.labels[0]), (second, pair.labels[1])):
            _check_codes(codes, n, path, pair, "label values")
        mixed = (first == NO_CHANGE) != (second == NO_CHANGE)
        return np.where(mixed, IGNORE, first), np.where(mixed, IGNORE, second)
    if pair.form == "fromto":
        codes = read_raster(pair.labels[0], grid, pair)
        _check_codes(codes, n * n, pair.labels[0], pair, "from-to codes")
        changed = codes > 0
        first = np.where(changed, (codes - 1) // n + 1, codes)
        return first, np.where(changed, (codes - 1) % n + 1, codes)
    field = options.class_field
    if field is None:
        raise ScdInputError(
            f"pair {pair.id!r}: land-cover layers (labels1, labels2) need --class-field", pair.labels[0]
        )
    dates = []
    for path in pair.labels:
        frame = read_vector(path, (field,), grid, pair)
        dates.append(burn(frame, [class_code(v, table, field, path, pair) for v in frame[field]], grid))
    known = (dates[0] != _NONE) & (dates[1] != _NONE)
    same = known & (dates[0] == dates[1])
    return tuple(np.where(same, NO_CHANGE, np.where(known, d, _NONE)) for d in dates)  # type: ignore[return-value]


def read_labels(
    pair: TrainingPair, grid: Grid, valid: np.ndarray, table: LabelSet, options: LabelOptions
) -> tuple[np.ndarray, np.ndarray]:
    """The pair's per-date label maps (uint8, see the module docstring) on ``grid``; ``valid`` is where
    both dates' imagery holds data. A pair with no labelled pixel is an error naming it."""
    first, second = per_date(pair, grid, table, options)
    fill = NO_CHANGE if options.unlabelled == "no-change" else IGNORE
    maps = []
    for codes in (first, second):
        codes = np.where(codes == _NONE, fill, codes)
        maps.append(np.where(valid, codes, IGNORE).astype(np.uint8))
    if not (maps[0] != IGNORE).any():
        raise ScdInputError(
            f"pair {pair.id!r}: no labelled pixel where both dates hold data "
            "(outside every polygon is unlabelled unless --unlabelled no-change)",
            pair.labels[0],
        )
    return maps[0], maps[1]
