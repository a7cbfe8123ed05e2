"""``scd series``: three dates (the third a copy of the second) give the pairs' folders and the series'
products; change_count is the first pair's change map; a re-run skips the pairs; --pairs first; refusals."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pyogrio
import pytest
import rasterio
from rasterio.enums import ColorInterp
from series_testing import copy_checkpoint, tagged, three_dates

from scd_core.cli import main
from scd_core.geo.pipeline import OUTPUT_FILES
from scd_core.series.run import PRODUCTS
from scd_core.synth import write_geo_pair

NODATA = 255


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    return three_dates(root / "dates"), copy_checkpoint(root / "copy.ckpt")


def series(rasters, out, model, *more):
    return ["series", *map(str, rasters), "-o", str(out), "--model", str(model), "--tile", "128", *more]


@pytest.fixture(scope="module")
def consecutive(inputs, tmp_path_factory):
    rasters, model = inputs
    out = tmp_path_factory.mktemp("consecutive") / "out"
    assert main(series(rasters, out, model, "--progress", "none")) == 0
    return out


def read(path):
    """A raster's band, and its grid, tags and colour table."""
    with rasterio.open(path) as dataset:
        about = {"grid": (dataset.crs, dataset.transform, dataset.shape), "tags": dataset.tags()}
        paletted = dataset.colorinterp[0] == ColorInterp.palette
        return dataset.read(1), {**about, "colours": dataset.colormap(1) if paletted else None}


def changed(codes):
    return (codes > 0) & (codes != NODATA)


def test_each_period_is_a_detect_folder_and_the_products_are_written(consecutive):
    assert sorted(p.name for p in consecutive.iterdir() if p.is_dir()) == ["1_2", "2_3"]
    for folder in ("1_2", "2_3"):
        assert {p.name for p in (consecutive / folder).iterdir()} == set(OUTPUT_FILES.values())
    assert {p.name for p in consecutive.iterdir() if p.is_file()} == set(PRODUCTS.values())


def test_change_count_is_the_first_pairs_change_map(consecutive, inputs):
    codes = read(consecutive / "1_2" / "change_type.tif")[0]
    count, about = read(consecutive / "change_count.tif")
    assert about["grid"] == read(inputs[0][0])[1]["grid"]  # the first raster's grid
    assert changed(codes).any() and (codes == 0).any()
    assert not changed(read(consecutive / "2_3" / "change_type.tif")[0]).any()  # the copy changed nowhere
    expected = np.where(codes == NODATA, NODATA, changed(codes)).astype(np.uint8)
    assert np.array_equal(count, expected)
    for name in ("first_change", "last_change"):
        when, about = read(consecutive / f"{name}.tif")
        assert np.array_equal(when, expected)  # period 1 where the first pair changed, 0 (never) elsewhere
        assert json.loads(about["tags"]["scd_class_names"]) == {"0": "never", "1": "1 → 2", "2": "2 → 3"}
        colours = about["colours"]
        assert colours[0] == (230, 230, 230, 255) and colours[1] != colours[2]  # never: grey; early blue, late red


def test_the_tables_layer_and_page_gather_the_pairs(consecutive):
    summary = json.loads((consecutive / "1_2" / "summary.json").read_text())
    with open(consecutive / "series.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["period"] for r in rows} == {"1_2"}
    assert sum(float(r["hectares"]) for r in rows) == pytest.approx(summary["changed_ha"], abs=1e-3)
    pair_polygons = pyogrio.read_info(consecutive / "1_2" / "changes.gpkg")["features"]
    layer = pyogrio.read_dataframe(consecutive / "series.gpkg")
    assert len(layer) == pair_polygons and set(layer["period"]) == {"1_2"} and set(layer["period_code"]) == {1}
    with open(consecutive / "periods.csv", newline="") as handle:
        assert [(r["code"], r["folder"]) for r in csv.DictReader(handle)] == [("1", "1_2"), ("2", "2_3")]
    page = (consecutive / "report.html").read_text()
    assert 'href="1_2/report.html"' in page and "Changes over 3 dates" in page


def test_a_second_run_skips_both_pairs_and_makes_the_products_again(consecutive, inputs, capsys):
    rasters, model = inputs
    stamps = {f: (consecutive / f / "change_type.tif").stat().st_mtime_ns for f in ("1_2", "2_3")}
    product = (consecutive / "change_count.tif").stat().st_mtime_ns
    capsys.readouterr()
    assert main(series(rasters, consecutive, model, "--progress", "json")) == 0
    captured = capsys.readouterr()
    assert "0 done, 2 skipped" in captured.err
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [(e["id"], e["status"]) for e in lines if e["event"] == "pair"] == [("1_2", "skipped"), ("2_3", "skipped")]
    assert lines[-1]["event"] == "series" and [p["folder"] for p in lines[-1]["periods"]] == ["1_2", "2_3"]
    assert {f: (consecutive / f / "change_type.tif").stat().st_mtime_ns for f in stamps} == stamps
    assert (consecutive / "change_count.tif").stat().st_mtime_ns != product


def test_pairs_first_compares_the_first_date_with_each_later_one(consecutive, inputs, tmp_path):
    rasters, model = inputs
    out = tmp_path / "first"
    assert main(series(rasters, out, model, "--pairs", "first", "--dates", "2021,2022,2023", "--progress", "none")) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["2021_2022", "2021_2023"]
    codes = read(consecutive / "1_2" / "change_type.tif")[0]
    once, valid = changed(codes), codes != NODATA  # 2021 → 2023 is 2021 → 2022 again: the third is the second
    assert np.array_equal(read(out / "change_count.tif")[0], np.where(valid, 2 * once, NODATA))
    assert np.array_equal(read(out / "first_change.tif")[0], np.where(valid, once, NODATA))
    assert np.array_equal(read(out / "last_change.tif")[0], np.where(valid, 2 * once, NODATA))


@pytest.mark.parametrize(
    ("more", "problem"),
    [
        (["--dates", "2021,2022"], "--dates gives 2 dates for 3 rasters"),
        (["--dates", "2021,2022,2021"], "have one date, 2021"),
        (["--dates", "2021,2022,2023-05"], "--dates mixes precisions"),
        (["--dates", "2021,2022,yesterday"], "--dates: 'yesterday' is not a date"),
        (["--tile", "100"], "--tile must be a positive multiple of 32"),
    ],
)
def test_bad_dates_and_options_exit_2_with_one_line_and_nothing_written(inputs, tmp_path, capsys, more, problem):
    rasters, model = inputs
    assert main(series(rasters, tmp_path / "out", model, *more)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and problem in err[0]
    assert not (tmp_path / "out").exists()


def test_one_raster_a_missing_one_two_of_one_date_or_an_input_in_the_way_write_nothing(inputs, tmp_path, capsys):
    rasters, model = inputs
    first = tagged(rasters[0], tmp_path / "a.tif", ACQUISITION_DATE="2023-06-15")
    second = tagged(rasters[1], tmp_path / "b.tif", ACQUISITION_DATE="2023-06-15")
    (tmp_path / "held").mkdir()
    in_the_way = tagged(rasters[0], tmp_path / "held" / "last_change.tif")
    for given, out, problem in (
        ([rasters[0]], "out", "needs two rasters or more"),
        ([rasters[0], tmp_path / "gone.tif"], "out", "gone.tif: RASTER2 raster not found"),
        ([first, second], "out", "have one date, 2023-06-15"),
        ([in_the_way, rasters[1]], "held", "would write last_change.tif over an input"),
    ):
        listing = sorted(p.name for p in tmp_path.rglob("*"))
        assert main(series(given, tmp_path / out, model)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and problem in err[0]
        assert sorted(p.name for p in tmp_path.rglob("*")) == listing


def test_every_pair_runs_on_the_first_dates_grid(inputs, tmp_path):
    pair = write_geo_pair(tmp_path / "dates", 128, seed=1, after_crs="EPSG:3857", keep_scene=False)
    copy = tmp_path / "dates" / "copy.tif"
    shutil.copy(pair.after, copy)
    out = tmp_path / "out"
    assert main(series([pair.before, pair.after, copy], out, inputs[1], "--progress", "none")) == 0
    first = read(pair.before)[1]["grid"]
    for folder in ("1_2", "2_3"):
        about = read(out / folder / "change_type.tif")[1]
        crs, transform, _ = about["grid"]
        assert crs == first[0] and (transform.a, transform.e) == (first[1].a, first[1].e), folder
    assert not changed(read(out / "2_3" / "change_type.tif")[0]).any()  # one image twice, resampled alike
    messages = json.loads((out / "2_3" / "run.json").read_text())["messages"]
    assert any(m.startswith("BEFORE is resampled onto the grid asked for (EPSG:3857") for m in messages)


def test_series_gpkg_is_written_a_few_polygons_at_a_time_as_it_is_at_once(consecutive, inputs, monkeypatch):
    from scd_core.series import tables

    rasters, model = inputs
    whole = pyogrio.read_dataframe(consecutive / "series.gpkg")
    assert len(whole) > 2, "the first pair's polygons must span chunks for the test to mean anything"
    monkeypatch.setattr(tables, "CHUNK", 2)
    assert main(series(rasters, consecutive, model, "--progress", "none")) == 0  # skips the pairs, rebuilds
    chunked = pyogrio.read_dataframe(consecutive / "series.gpkg")
    assert chunked.drop(columns="geometry").equals(whole.drop(columns="geometry"))
    assert chunked.geometry.geom_equals(whole.geometry).all()
