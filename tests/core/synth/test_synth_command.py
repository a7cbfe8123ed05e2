"""``scd synth second|geo``: the command writes both kinds, and a CRS it cannot use is a usage error."""

from __future__ import annotations

import pytest
import rasterio

from scd_core.cli import main


def test_scd_synth_writes_both_kinds(tmp_path, capsys):
    assert main(["synth", "second", str(tmp_path / "second"), "--pairs", "2", "--size", "64", "--seed", "3"]) == 0
    assert len(list((tmp_path / "second" / "label2").glob("*.png"))) == 2
    assert (
        main(
            ["synth", "geo", str(tmp_path / "geo"), "--size", "64", "80", "--crs", "EPSG:3857", "--nodata-collar", "4"]
        )
        == 0
    )
    with rasterio.open(tmp_path / "geo" / "after.tif") as after:
        assert after.crs == "EPSG:3857" and after.shape == (64, 80) and after.nodata == 0
    assert "change_type.tif" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "geo", str(tmp_path / "bad"), "--crs", "EPSG:999999"])
    assert exit_info.value.code == 2
