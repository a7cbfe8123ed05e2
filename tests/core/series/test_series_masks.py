"""``scd series --mask-series``: one mask per date, by position; a date's masked pixels are nodata in
every pair it is in and in the series' products."""

from __future__ import annotations

import numpy as np
import pyogrio
import rasterio
import shapely
from series_testing import copy_checkpoint, three_dates

from scd_core.cli import main

NODATA = 255


def square_mask(like, path, rows=slice(32, 64), cols=slice(40, 80)):
    """A uint8 mask on ``like``'s grid, 1 in a square."""
    with rasterio.open(like) as source:
        profile = {**source.profile, "count": 1, "dtype": "uint8", "nodata": None}
    values = np.zeros((profile["height"], profile["width"]), np.uint8)
    values[rows, cols] = 1
    with rasterio.open(path, "w", **profile) as mask:
        mask.write(values, 1)
        return mask.bounds, values.astype(bool), profile["transform"]


def test_a_dates_mask_is_nodata_in_its_pairs_and_the_products(tmp_path):
    rasters = three_dates(tmp_path / "dates")
    model = copy_checkpoint(tmp_path / "copy.ckpt")
    clear = tmp_path / "clear.tif"
    square_mask(rasters[0], clear, rows=slice(0, 0))
    _, square, transform = square_mask(rasters[1], tmp_path / "cloud.tif")
    out = tmp_path / "out"
    args = ["series", *map(str, rasters), "-o", str(out), "--model", str(model), "--tile", "128", "--progress", "none"]
    assert main([*args, "--mask-series", str(clear), str(tmp_path / "cloud.tif"), str(clear)]) == 0
    for name in ("1_2/change_type.tif", "2_3/change_type.tif", "change_count.tif", "first_change.tif"):
        with rasterio.open(out / name) as dataset:
            assert (dataset.read(1)[square] == NODATA).all(), name
    layer = pyogrio.read_dataframe(out / "series.gpkg")
    rows, cols = np.nonzero(square)
    inside = shapely.box(*(transform @ (cols.min() + 1, rows.max())), *(transform @ (cols.max(), rows.min() + 1)))
    assert len(layer) and not layer.intersects(inside).any()


def test_a_mask_count_that_is_not_the_rasters_is_refused(tmp_path, capsys):
    rasters = three_dates(tmp_path / "dates")
    square_mask(rasters[0], tmp_path / "m.tif")
    out = tmp_path / "out"
    args = ["series", *map(str, rasters), "-o", str(out), "--mask-series", str(tmp_path / "m.tif")]
    assert main(args) == 2
    assert "--mask-series gives 1 masks for 3 rasters" in capsys.readouterr().err
    assert main(["series", *map(str, rasters), "-o", str(out), "--mask-values", "3,8"]) == 2
    assert "give --mask-series" in capsys.readouterr().err
    assert not out.exists()
