"""``--simplify``: each polygon's ``area_m2`` is the geodesic area of the outline as written, and
summary.csv and run.json add up the GeoPackage; the areas used to be those of the unsimplified
regions, up to 5% off the polygon they sat on."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Geod, Transformer

import scd_core

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


def _geodesic_m2(geometry, crs):
    """Area on WGS 84 of a polygon given in ``crs``, each edge cut into 0.25 m pieces first."""
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    pieces = shapely.segmentize(geometry, 0.25)
    lonlat = shapely.transform(pieces, lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])))
    return abs(Geod(ellps="WGS84").geometry_area_perimeter(shapely.orient_polygons(lonlat))[0])


def test_areas_are_those_of_the_simplified_polygons_and_the_summary_adds_them_up(collared, ckpt, tmp_path):
    plain = scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "plain", **FAST)
    result = scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "simple", simplify=1.5, **FAST)
    frame = pyogrio.read_dataframe(result.outputs["changes"], layer="changes")
    crs = frame.crs.to_string()
    assert len(frame) > 10
    written = np.array([_geodesic_m2(g, crs) for g in frame.geometry])
    np.testing.assert_allclose(frame["area_m2"], written, rtol=1e-3)
    # simplifying moved the areas (else this test would not tell old areas from new ones)
    unsimplified = pyogrio.read_dataframe(plain.outputs["changes"], layer="changes")
    assert len(unsimplified) == len(frame)
    assert np.abs(np.sort(unsimplified["area_m2"]) - np.sort(written)).max() > 1.0
    with open(result.outputs["summary"], newline="") as handle:
        rows = list(csv.reader(handle))
    assert float(rows[-1][rows[0].index("total")]) == pytest.approx(frame["area_m2"].sum() / 10_000, abs=1e-4)
    run = json.loads(result.outputs["run"].read_text())
    assert run["counts"]["polygon_area_ha"] == pytest.approx(frame["area_m2"].sum() / 10_000, abs=1e-4)
    # changed_area_ha stays that of the regions as mapped, pixel for pixel
    assert run["counts"]["changed_area_ha"] == pytest.approx(unsimplified["area_m2"].sum() / 10_000, abs=1e-4)


def test_min_area_judges_the_polygons_as_written(collared, ckpt, tmp_path):
    result = scd_core.detect(
        collared.before, collared.after, ckpt, tmp_path / "out", simplify=1.5, min_area=2.0, **FAST
    )
    frame = pyogrio.read_dataframe(result.outputs["changes"], layer="changes")
    written = np.array([_geodesic_m2(g, frame.crs.to_string()) for g in frame.geometry])
    assert len(frame) and (frame["area_m2"] >= 2.0).all() and (written >= 2.0 * (1 - 1e-3)).all()
