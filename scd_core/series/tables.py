"""The series' tables and polygons, gathered from the pairs' own outputs one pair at a time.

* ``series.csv``: long format, one row per period and from → to change with its hectares (the
  pair's ``summary.json``, so the polygons' areas as the pair's ``summary.csv`` gives them); a
  change-only model's rows have no classes;
* ``periods.csv``: the legend of the period codes of first_change.tif and last_change.tif;
* ``series.gpkg``: layer ``changes``, every pair's polygons (its ``changes.gpkg``) with the period as
  fields, in the first raster's CRS.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer

from scd_core.geopackage import GEOPACKAGE_OPTIONS
from scd_core.series.periods import Period

LAYER = "changes"
#: Polygons read from a pair's changes.gpkg and written to series.gpkg at a time.
CHUNK = 50_000
SERIES_CSV_HEADER = ("period", "start", "end", "from_class", "to_class", "hectares")
PERIODS_CSV_HEADER = ("code", "period", "start", "end", "folder", "changed_ha")


def _summary(folder: Path) -> dict:
    return dict(json.loads((folder / "summary.json").read_text(encoding="utf-8")))


def write_series_csv(path: Path, periods: Sequence[Period], out_dir: Path) -> None:
    """``series.csv`` from each pair's ``summary.json``: the non-zero cells of its from × to matrix."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SERIES_CSV_HEADER)
        for period in periods:
            summary = _summary(out_dir / period.folder)
            when = (period.folder, period.start.date, period.end.date)
            if "from_to" not in summary:  # a change-only model: the changed area alone
                writer.writerow([*when, "", "", f"{summary['changed_ha']:.4f}"])
                continue
            names = summary["classes"]
            for source, row in zip(names, summary["from_to"], strict=True):
                for target, hectares in zip(names, row, strict=True):
                    if hectares:
                        writer.writerow([*when, source, target, f"{hectares:.4f}"])


def write_periods_csv(path: Path, periods: Sequence[Period], out_dir: Path) -> None:
    """``periods.csv``: each period's code in the series rasters, its dates, folder and changed hectares."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PERIODS_CSV_HEADER)
        for p in periods:
            changed = _summary(out_dir / p.folder)["changed_ha"]
            writer.writerow([p.number, p.label, p.start.date, p.end.date, p.folder, f"{changed:.4f}"])


def _in_crs(geometries: np.ndarray, source: str, target: CRS) -> np.ndarray:
    """``geometries`` from the CRS ``source`` (WKT) into ``target``."""
    if not len(geometries) or CRS.from_user_input(source) == target:
        return geometries
    move = Transformer.from_crs(CRS.from_user_input(source), target, always_xy=True)
    return shapely.transform(geometries, lambda xy: np.column_stack(move.transform(xy[:, 0], xy[:, 1])))


def _chunks(source: Path) -> Iterator[tuple[dict[str, Any], np.ndarray, list[np.ndarray]]]:
    """``source``'s polygons as pyogrio reads them, :data:`CHUNK` at a time; at least one chunk, maybe empty."""
    import pyogrio.raw

    offset = 0
    while True:
        meta, _, wkb, data = pyogrio.raw.read(source, skip_features=offset, max_features=CHUNK)
        yield meta, wkb, data
        if len(wkb) < CHUNK:
            return
        offset += len(wkb)


def write_series_gpkg(path: Path, periods: Sequence[Period], out_dir: Path, crs: str) -> int:
    """``series.gpkg``: the pairs' polygons, at most :data:`CHUNK` of them in memory at a time (a pair of a
    large raster can hold millions); returns how many."""
    import pyogrio.raw

    target = CRS.from_user_input(crs)
    written, first = 0, True
    for period in periods:
        for meta, wkb, data in _chunks(out_dir / period.folder / "changes.gpkg"):
            geometries = _in_crs(shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object), meta["crs"], target)
            count = len(geometries)
            when = [
                np.full(count, period.folder, dtype=object),
                np.full(count, period.number, dtype=np.int32),
                np.full(count, period.start.date, dtype=object),
                np.full(count, period.end.date, dtype=object),
            ]
            pyogrio.raw.write(
                path,
                geometry=shapely.to_wkb(geometries) if count else np.array([], dtype=object),
                field_data=[*when, *data],
                fields=["period", "period_code", "start", "end", *meta["fields"]],
                layer=LAYER,
                driver="GPKG",
                geometry_type="MultiPolygon",
                promote_to_multi=True,
                crs=target.to_wkt(),
                append=not first,
                **({"dataset_options": GEOPACKAGE_OPTIONS} if first else {}),
            )
            written, first = written + count, False
    return written
