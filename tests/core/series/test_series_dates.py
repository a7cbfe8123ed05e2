"""A series' dates: --dates, the files' tags and Sentinel-2 and Landsat names, else the order given."""

from __future__ import annotations

import shutil

import pytest
from series_testing import tagged

from scd_core.errors import InvalidOptionError
from scd_core.series.dates import given_dates, metadata_date
from scd_core.series.run import plan
from scd_core.synth import write_geo_pair


@pytest.fixture(scope="module")
def raster(tmp_path_factory):
    return write_geo_pair(tmp_path_factory.mktemp("dates"), 64, seed=3, keep_scene=False).before


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("2023-06-15,20230720", ["2023-06-15", "2023-07-20"]),
        ("2023-06,2023-07", ["2023-06", "2023-07"]),
        ("2021, 2022", ["2021", "2022"]),
    ],
)
def test_given_dates_are_read_in_each_format(text, codes):
    assert given_dates(text, 2) == codes


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2023-06-15", "gives 1 dates for 2 rasters"),
        ("2023-02-30,2023-03-01", "'2023-02-30' is not a date"),
        ("June,July", "'June' is not a date"),
        ("2023,2023-06", "mixes precisions (month, year)"),
    ],
)
def test_given_dates_that_cannot_be_ordered_are_refused(text, problem):
    with pytest.raises(InvalidOptionError, match=f"--dates.*{problem}".replace("(", r"\(").replace(")", r"\)")):
        given_dates(text, 2)


@pytest.mark.parametrize(
    ("path", "tags", "date"),
    [
        ("a.tif", {"ACQUISITION_DATE": "2023-06-15T10:30:31Z"}, "2023-06-15"),
        ("a.tif", {"TIFFTAG_DATETIME": "2023:06:15 10:30:00"}, "2023-06-15"),
        ("a.tif", {"DATE_ACQUIRED": "2023-06-15", "TIFFTAG_DATETIME": "2026:12:07 20:00:00"}, "2023-06-15"),
        ("S2B_MSIL2A_20230615T103031_N0509_R108_T32TQM_20230615T170424.tif", {}, "2023-06-15"),
        (
            "S2B_MSIL2A_20230615T103031_N0509.SAFE/GRANULE/x/IMG_DATA/T32TQM_20230615T103031_B04_10m.jp2",
            {},
            "2023-06-15",
        ),
        ("LC08_L2SP_190025_20230615_20230622_02_T1_SR_B4.TIF", {}, "2023-06-15"),
        ("LC08_L2SP_190025_20230615_20230622_02_T1.tif", {"TIFFTAG_DATETIME": "2026:12:07 20:00:00"}, "2023-06-15"),
        ("mosaic_2023.tif", {}, None),
    ],
)
def test_a_files_date_comes_from_its_tags_then_its_name_then_its_writing_time(path, tags, date):
    assert metadata_date(path, tags) == date


def test_rasters_are_ordered_by_the_dates_their_tags_give(raster, tmp_path):
    late = tagged(raster, tmp_path / "late.tif", ACQUISITION_DATE="2023-07-20")
    early = tagged(raster, tmp_path / "early.tif", ACQUISITION_DATE="2023-06-15")
    series = plan([str(late), str(early)], None, "consecutive")
    assert [(d.path, d.date) for d in series.dated] == [(str(early), "2023-06-15"), (str(late), "2023-07-20")]
    assert [p.folder for p in series.periods] == ["2023-06-15_2023-07-20"]
    assert "metadata" in series.dates_from


def test_sentinel2_names_date_the_rasters(raster, tmp_path):
    names = ["S2A_MSIL2A_20230720T103031_N0509_R108_T32TQM_20230720T170424.tif", "T32TQM_20230615T103031_B04_10m.tif"]
    paths = [str(shutil.copy(raster, tmp_path / name)) for name in names]
    assert [d.date for d in plan(paths, None, "first").dated] == ["2023-06-15", "2023-07-20"]


def test_given_dates_win_over_the_files_and_order_them(raster, tmp_path):
    paths = [str(tagged(raster, tmp_path / f"{n}.tif", ACQUISITION_DATE=f"2023-0{n}-01")) for n in (1, 2, 3)]
    series = plan(paths, "2022,2020,2021", "first")
    assert [p.folder for p in series.periods] == ["2020_2021", "2020_2022"]
    assert series.dated[0].path == paths[1]


def test_without_a_date_for_every_raster_the_order_given_stands(raster, tmp_path):
    dated = tagged(raster, tmp_path / "dated.tif", ACQUISITION_DATE="2023-06-15")
    series = plan([str(dated), str(raster)], None, "consecutive")
    assert [d.date for d in series.dated] == ["1", "2"] and "order given" in series.dates_from


def test_two_rasters_of_one_date_are_refused(raster, tmp_path):
    first = tagged(raster, tmp_path / "a.tif", ACQUISITION_DATE="2023-06-15")
    second = tagged(raster, tmp_path / "b.tif", ACQUISITION_DATE="2023-06-15T11:00:00")
    with pytest.raises(InvalidOptionError, match=r"a\.tif and .*b\.tif have one date, 2023-06-15"):
        plan([str(first), str(second)], None, "consecutive")
