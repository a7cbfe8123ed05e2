"""``scd zones``: each zone's from × to hectares, zones in any CRS, and totals that add up to the run's."""

from __future__ import annotations

import csv
import json
import sqlite3

import geopandas
import pytest
import rasterio
import shapely

from scd_core.cli import main


def zones_file(run, path, parts: int, crs: str = "EPSG:4326"):
    """The map's extent cut into ``parts`` vertical strips, named a, b, ..., written in ``crs``."""
    with rasterio.open(run / "change_type.tif") as dataset:
        left, bottom, right, top = dataset.bounds
        map_crs = dataset.crs
    step = (right - left) / parts
    boxes = [shapely.box(left + i * step, bottom, left + (i + 1) * step, top) for i in range(parts)]
    names = [chr(ord("a") + i) for i in range(parts)]
    geopandas.GeoDataFrame({"district": names}, geometry=boxes, crs=map_crs).to_crs(crs).to_file(path)
    return path


def rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_one_zone_over_the_whole_map_gives_the_runs_changed_area(run, tmp_path):
    zones = zones_file(run, tmp_path / "whole.gpkg", 1, "EPSG:32633")
    assert main(["zones", str(run), str(zones), "--field", "district", "-o", str(tmp_path / "z.csv")]) == 0
    changed = json.loads((run / "run.json").read_text())["counts"]["changed_area_ha"]
    assert sum(float(r["hectares"]) for r in rows(tmp_path / "z.csv")) == pytest.approx(changed, rel=1e-3)
    layer = geopandas.read_file(tmp_path / "z.gpkg")
    assert layer.changed_ha[0] == pytest.approx(changed, rel=1e-3) and 0 < layer.changed_share[0] < 1
    with sqlite3.connect(tmp_path / "z.gpkg") as database:  # GeoPackage 1.2, which QGIS 3.22 reads quietly
        assert database.execute("PRAGMA user_version").fetchone() == (10200,)


def test_zones_in_another_crs_share_out_the_whole_and_name_their_change_types(run, tmp_path):
    whole = zones_file(run, tmp_path / "whole.gpkg", 1)
    halves = zones_file(run, tmp_path / "halves.geojson", 2)
    assert main(["zones", str(run), str(whole), "--field", "district", "-o", str(tmp_path / "w.csv")]) == 0
    assert main(["zones", str(run), str(halves), "--field", "district", "-o", str(tmp_path / "h.csv")]) == 0
    total = sum(float(r["hectares"]) for r in rows(tmp_path / "w.csv"))
    parts = rows(tmp_path / "h.csv")
    assert {r["zone"] for r in parts} == {"a", "b"}
    assert sum(float(r["hectares"]) for r in parts) == pytest.approx(total, rel=2e-3)  # reprojected edges
    assert all(r["from"] and r["to"] and r["from"] != "no change" for r in parts)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("field", "the zones have no field 'ward' (their fields: district)"),
        ("far", "no zone overlaps"),
        ("exists", "exists"),
    ],
)
def test_bad_zones_are_one_line_exit_2_and_nothing_written(run, tmp_path, capsys, case, message):
    zones = zones_file(run, tmp_path / "z.gpkg", 1)
    if case == "far":
        frame = geopandas.read_file(zones)
        frame.geometry = frame.geometry.translate(20, 0)
        frame.to_file(zones)
    output = tmp_path / "out.csv"
    if case == "exists":
        output.write_text("mine")
    capsys.readouterr()
    field = "ward" if case == "field" else "district"
    assert main(["zones", str(run), str(zones), "--field", field, "-o", str(output)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0]
    assert (output.read_text() == "mine") if case == "exists" else not output.exists()
    assert not (tmp_path / "out.gpkg").exists()


def test_detect_with_zones_writes_the_same_tables_as_scd_zones_and_shows_them_in_its_report(
    run, collared, ckpt, tmp_path
):
    halves = zones_file(run, tmp_path / "halves.geojson", 2)
    out = tmp_path / "zoned"
    args = [str(collared.before), str(collared.after), "--model", str(ckpt), "-o", str(out), "--threshold", "0.501"]
    assert main(["detect", *args, "--progress", "none", "--zones", str(halves), "--zone-field", "district"]) == 0
    assert main(["zones", str(run), str(halves), "--field", "district", "-o", str(tmp_path / "h.csv")]) == 0
    assert rows(out / "zones.csv") == rows(tmp_path / "h.csv")  # the same run, the same zones
    assert geopandas.read_file(out / "zones.gpkg").changed_ha.sum() > 0
    assert "<h2>Change by zone</h2>" in (out / "report.html").read_text(encoding="utf-8")
    options = json.loads((out / "run.json").read_text())["options"]
    assert options["zones"] == str(halves) and options["zone_field"] == "district"
    # another run into the folder without zones takes the old zones' tables away with the old map
    assert main(["detect", *args, "--progress", "none", "--overwrite"]) == 0
    assert not (out / "zones.csv").exists() and not (out / "zones.gpkg").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--zone-field", "district"], "--zones and --zone-field go together"),
        (["--zone-field", "ward"], "the zones have no field 'ward' (their fields: district)"),
        (["--zone-field", "district", "far"], "no zone overlaps the run's change map"),
    ],
)
def test_detect_refuses_bad_zones_before_any_work(run, collared, ckpt, tmp_path, capsys, extra, message):
    zones = zones_file(run, tmp_path / "z.gpkg", 1)
    if extra[-1] == "far":
        frame = geopandas.read_file(zones)
        frame.geometry = frame.geometry.translate(20, 0)
        frame.to_file(zones)
        extra = extra[:-1]
    given = [] if message.startswith("--zones and") else ["--zones", str(zones)]
    out = tmp_path / "out"
    capsys.readouterr()
    args = [str(collared.before), str(collared.after), "--model", str(ckpt), "-o", str(out), "--progress", "none"]
    assert main(["detect", *args, *given, *extra]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0]
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["z.gpkg"]
