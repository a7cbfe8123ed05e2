"""``scd sample`` on a real run's change map: the points lie on their strata's pixels, never on nodata,
each stratum gets its allocation, the GeoPackage holds the strata and the design, and a seed repeats."""

from __future__ import annotations

import json
import sqlite3

import geopandas
import numpy as np
import pyogrio
import pytest
import rasterio

from scd_core.accounting.design import allocate, cochran_size
from scd_core.cli import main


def sample(run, path, *options: str) -> geopandas.GeoDataFrame:
    assert main(["sample", str(run), "-o", str(path), *options]) == 0
    return geopandas.read_file(path, layer="points")


def test_every_point_lies_on_a_pixel_of_its_stratum_and_never_on_nodata(run, tmp_path):
    points = sample(run, tmp_path / "points.gpkg", "--n", "300", "--min-per-stratum", "5")
    with rasterio.open(run / "change_type.tif") as dataset:
        values = np.array([v[0] for v in dataset.sample(zip(points.x, points.y, strict=True))])
        assert points.crs == dataset.crs
    assert (values == points.map_class).all() and (values != 255).all()
    assert points.ref_class.isna().all() and points.id.is_unique
    assert set(points.columns) >= {"id", "stratum", "map_class", "map_class_name", "ref_class", "x", "y"}


def test_the_strata_table_counts_the_maps_pixels_and_areas_and_each_strata_gets_its_points(run, tmp_path):
    points = sample(run, tmp_path / "points.gpkg", "--strata", "change", "--allocation", "equal", "--n", "40")
    strata = pyogrio.read_dataframe(tmp_path / "points.gpkg", layer="strata")
    with sqlite3.connect(tmp_path / "points.gpkg") as database:  # GeoPackage 1.2, which QGIS 3.22 reads quietly
        assert database.execute("PRAGMA user_version").fetchone() == (10200,)
    with rasterio.open(run / "change_type.tif") as dataset:
        codes = dataset.read(1)
    assert list(strata.stratum) == ["no change", "change"]
    assert list(strata.pixels) == [int((codes == 0).sum()), int(((codes > 0) & (codes < 255)).sum())]
    assert list(points.stratum.value_counts().sort_index()) == [20, 20]
    changed_ha = json.loads((run / "run.json").read_text())["counts"]["changed_area_ha"]
    assert strata.area_ha[1] == pytest.approx(changed_ha, rel=1e-3)  # the run's own geodesic area


def test_cochrans_size_is_used_without_n_and_the_design_is_kept_with_the_seed(run, tmp_path):
    points = sample(run, tmp_path / "points.gpkg", "--strata", "change", "--allocation", "proportional", "--seed", "7")
    design = pyogrio.read_dataframe(tmp_path / "points.gpkg", layer="design")
    settings = {key: json.loads(value) for key, value in zip(design.key, design.value, strict=True)}
    strata = pyogrio.read_dataframe(tmp_path / "points.gpkg", layer="strata")
    weights = strata.pixels / strata.pixels.sum()
    assert settings["size"] == cochran_size(weights, [0.9, 0.7], 0.01) == len(points)
    assert settings["seed"] == 7 and settings["size_from"] == "cochran" and settings["allocation"] == "proportional"


def test_the_same_seed_draws_the_same_points_and_another_seed_others(run, tmp_path):
    first = sample(run, tmp_path / "a.gpkg", "--n", "50", "--seed", "3")
    again = sample(run, tmp_path / "b.gpkg", "--n", "50", "--seed", "3")
    other = sample(run, tmp_path / "c.gpkg", "--n", "50", "--seed", "4")
    assert list(first.x) == list(again.x) and list(first.y) == list(again.y)
    assert list(first.x) != list(other.x)


def test_allocations_follow_their_rules_and_no_stratum_gets_more_points_than_pixels():
    weights, users = [0.9, 0.08, 0.02], [0.9, 0.7, 0.7]
    assert list(allocate(100, weights, users, "proportional", 10, [10**6] * 3)) == [90, 8, 2]
    assert list(allocate(99, weights, users, "equal", 10, [10**6] * 3)) == [33, 33, 33]
    assert list(allocate(100, weights, users, "olofsson", 10, [10**6] * 3)) == [80, 10, 10]
    neyman = allocate(100, weights, users, "neyman", 10, [10**6] * 3)
    spread = np.array(weights) * np.sqrt(np.array(users) * (1 - np.array(users)))
    assert neyman.sum() == 100 and np.abs(neyman - 100 * spread / spread.sum()).max() < 1
    assert list(allocate(100, weights, users, "olofsson", 10, [10**6, 10**6, 3])) == [87, 10, 3]


@pytest.mark.parametrize(
    ("setup", "options", "message"),
    [
        ("no-run", [], "no change_type.tif: give the output folder of scd detect"),
        ("exists", [], "exists: choose another file or --overwrite"),
        ("yaml", ["--strata", "{yaml}"], "'sand → glass' of 'odd' is not a change type of the map"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(run, tmp_path, capsys, setup, options, message):
    out = run if setup != "no-run" else tmp_path
    target = tmp_path / "points.gpkg"
    if setup == "exists":
        target.write_text("mine")
    (tmp_path / "strata.yaml").write_text("odd: ['sand → glass']\n")
    options = [o.replace("{yaml}", str(tmp_path / "strata.yaml")) for o in options]
    capsys.readouterr()
    assert main(["sample", str(out), "-o", str(target), *options]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0]
    assert (target.read_text() == "mine") if setup == "exists" else not target.exists()
