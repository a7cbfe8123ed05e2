"""PAIRS.csv cells: relative paths join the CSV's folder; names GDAL reads as given stay as given."""

from __future__ import annotations

from pathlib import Path

import pytest

from scd_core.batch.pairs import resolve


@pytest.mark.parametrize(
    ("cell", "resolved"),
    [
        ("a.tif", "/data/a.tif"),
        ("sub/a.tif", "/data/sub/a.tif"),
        ("/elsewhere/a.tif", "/elsewhere/a.tif"),
        ("/vsicurl/https://example.org/a.tif", "/vsicurl/https://example.org/a.tif"),
        ("https://example.org/a.tif", "https://example.org/a.tif"),
        ("GPKG:labels.gpkg:table", "GPKG:labels.gpkg:table"),
        ('NETCDF:"f.nc":var', 'NETCDF:"f.nc":var'),
    ],
)
def test_a_cell_is_resolved_as_gdal_names_it(cell, resolved):
    assert resolve(Path("/data"), cell) == resolved
