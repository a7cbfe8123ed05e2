"""``scd series --cluster local:1``: one Dask task per pair, the outputs those of a run in one process."""

from __future__ import annotations

from series_testing import copy_checkpoint, three_dates

from scd_core.cli import main

COMPARED = ("1_2/change_type.tif", "2_3/change_type.tif", "change_count.tif", "first_change.tif", "series.csv")


def test_a_series_on_a_local_cluster_gives_the_one_process_outputs(tmp_path, capsys):
    rasters = three_dates(tmp_path / "dates")
    model = copy_checkpoint(tmp_path / "copy.ckpt")
    args = ["series", *map(str, rasters), "--model", str(model), "--tile", "128", "--progress", "none"]
    assert main([*args, "-o", str(tmp_path / "here")]) == 0
    assert main([*args, "-o", str(tmp_path / "there"), "--cluster", "local:1"]) == 0
    assert "2 done" in capsys.readouterr().err
    for name in COMPARED:
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "there" / name).read_bytes(), name
