"""Polygons from the change map: one valid feature per region, across blocks; geodesic areas."""

from __future__ import annotations

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from pyproj import CRS, Transformer
from rasterio.transform import from_origin

from scd_core.geo.grid import Grid
from scd_core.geo.vectorize import (
    change_matrix,
    geodesic_areas,
    mean_probabilities,
    polygonize,
    simplified,
    write_changes,
)
from scd_core.labels import change_code, class_name

NAMES = [class_name(i) for i in range(7)]


def write_band(path, array, crs, transform, nodata=None):
    profile = {
        "driver": "GTiff",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": "uint8",
        "crs": crs,
        "transform": transform,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(array, 1)
    return path


@pytest.fixture
def change_map(tmp_path):
    """A 600×500 map: a river-like region snaking across block borders, a square with a hole, a speck."""
    codes = np.zeros((600, 500), np.uint8)
    lowveg_to_building = int(change_code(np.array([3]), np.array([5]))[0])
    tree_to_ground = int(change_code(np.array([4]), np.array([2]))[0])
    rows = np.arange(600)
    centre = (250 + 120 * np.sin(rows / 60)).astype(int)
    for r, c in zip(rows, centre, strict=True):
        codes[r, c - 6 : c + 6] = tree_to_ground
    codes[50:150, 20:120] = lowveg_to_building
    codes[80:100, 60:80] = 0
    codes[400, 450] = lowveg_to_building
    codes[590:, 480:] = 255  # nodata corner: never a polygon
    mask = ((codes > 0) & (codes < 255)).astype(np.uint8)
    transform = from_origin(500000, 4000000, 2.0, 2.0)
    return (
        write_band(tmp_path / "codes.tif", codes, "EPSG:32633", transform, nodata=255),
        write_band(tmp_path / "mask.tif", mask, "EPSG:32633", transform),
        codes,
        Grid("EPSG:32633", transform, 500, 600),
        (lowveg_to_building, tree_to_ground),
    )


def test_one_valid_polygon_per_connected_region_even_across_blocks(change_map):
    codes_path, mask_path, codes, _grid, (building, ground) = change_map
    geometries, values = polygonize(codes_path, mask_path)
    assert sorted(values.tolist()) == sorted([building, building, ground])
    assert shapely.is_valid(geometries).all()
    river = geometries[values == ground][0]
    assert river.geom_type == "Polygon"
    assert river.area == pytest.approx((codes == ground).sum() * 4.0)
    square = max(geometries[values == building], key=lambda g: g.area)
    assert len(square.interiors) == 1 and square.area == pytest.approx((100 * 100 - 20 * 20) * 4.0)


def test_mean_probability_is_measured_inside_each_polygon(change_map, tmp_path):
    codes_path, mask_path, codes, grid, _ = change_map
    prob = np.where(codes > 0, 200, 10).astype(np.uint8)
    prob[:300] = np.where(codes[:300] > 0, 100, 10)  # the river's upper half is less sure
    prob_path = write_band(tmp_path / "prob.tif", prob, grid.crs, grid.transform)
    geometries, _values = polygonize(codes_path, mask_path)
    means = mean_probabilities(geometries, prob_path, 1 / 250, grid)
    for geometry, mean in zip(geometries, means, strict=True):
        inside = rasterio.features.geometry_mask([geometry], prob.shape, grid.transform, invert=True)
        assert mean == pytest.approx(prob[inside].mean() / 250)


def equal_area(geometry, crs):
    """Area in m² in a Lambert azimuthal equal-area projection centred on the geometry."""
    lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    centre = shapely.transform(geometry.centroid, lambda xy: np.column_stack(lonlat.transform(xy[:, 0], xy[:, 1])))
    laea = CRS.from_proj4(f"+proj=laea +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84")
    to_laea = Transformer.from_crs(crs, laea, always_xy=True)
    dense = shapely.segmentize(geometry, (geometry.bounds[2] - geometry.bounds[0]) / 200)
    return shapely.transform(dense, lambda xy: np.column_stack(to_laea.transform(xy[:, 0], xy[:, 1]))).area


@pytest.mark.parametrize(("crs", "size"), [("EPSG:4326", 0.01), ("EPSG:3857", 2000.0), ("EPSG:32633", 1000.0)])
def test_areas_are_true_square_metres_in_any_crs(crs, size):
    origin = {
        "EPSG:4326": (13.0, 60.0),
        "EPSG:3857": (1_447_000.0, 8_400_000.0),
        "EPSG:32633": (400_000.0, 6_650_000.0),
    }[crs]
    x, y = origin
    holed = shapely.Polygon(
        shapely.box(x, y, x + size, y + size).exterior.coords,
        [shapely.box(x + size / 4, y + size / 4, x + size / 2, y + size / 2).exterior.coords],
    )
    areas = geodesic_areas(np.array([holed], dtype=object), crs, size / 100)
    assert areas[0] == pytest.approx(equal_area(holed, crs), rel=1e-3)
    if crs == "EPSG:4326":
        assert 2.0e5 < areas[0] < 1.2e6  # ~0.56 km × 1.1 km less the hole, never "square degrees"
    if crs == "EPSG:3857":
        assert areas[0] < 0.5 * holed.area  # Web Mercator inflates areas ~4× at 60° N


def test_change_matrix_adds_hectares_by_from_and_to(change_map):
    _, _, _, _, (building, ground) = change_map
    matrix = change_matrix(np.array([building, building, ground]), np.array([10_000.0, 5_000.0, 20_000.0]), 6)
    assert matrix[2, 4] == pytest.approx(1.5) and matrix[3, 1] == pytest.approx(2.0)
    assert matrix.sum() == pytest.approx(3.5)


def test_gpkg_layer_fields_and_simplify(change_map, tmp_path):
    codes_path, mask_path, _codes, grid, (_building, _ground) = change_map
    geometries, values = polygonize(codes_path, mask_path)
    areas = geodesic_areas(geometries, grid.crs, 2.0)
    path = tmp_path / "changes.gpkg"
    big = areas >= 100.0  # the 4 m² speck is left out, as --min-area does
    outlines = simplified(geometries[big], 3.0, grid.crs)
    write_changes(path, outlines, values[big], areas[big], np.full(big.sum(), 0.8), grid.crs, NAMES)
    frame = pyogrio.read_dataframe(path, layer="changes")
    assert list(frame.columns) == [
        "change_type",
        "from_class",
        "to_class",
        "from_name",
        "to_name",
        "area_m2",
        "mean_prob",
        "geometry",
    ]
    assert len(frame) == 2 and set(frame["from_name"]) == {"low vegetation", "tree"}
    assert frame.geometry.is_valid.all()
    assert frame.crs.to_epsg() == 32633
    assert (frame["area_m2"] >= 100).all()


def test_an_empty_change_map_gives_an_empty_layer(tmp_path):
    transform = from_origin(0, 100, 1, 1)
    zeros = np.zeros((50, 50), np.uint8)
    geometries, values = polygonize(
        write_band(tmp_path / "c.tif", zeros, "EPSG:32633", transform),
        write_band(tmp_path / "m.tif", zeros, "EPSG:32633", transform),
    )
    path = tmp_path / "changes.gpkg"
    write_changes(path, geometries, values, np.zeros(0), np.zeros(0), "EPSG:32633", NAMES)
    assert pyogrio.read_info(path, layer="changes")["features"] == 0
