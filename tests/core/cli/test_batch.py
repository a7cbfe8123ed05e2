"""``scd batch``: many pairs, finished ones skipped on a re-run, a failure does not stop the others."""

from __future__ import annotations

import csv

import pytest
from detect_testing import tiny_checkpoint

from scd_core.cli import main
from scd_core.synth import write_geo_pair


def test_batch_runs_skips_and_reports(tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path / "tiny.ckpt")
    first = write_geo_pair(tmp_path / "a", 128, seed=1)
    second = write_geo_pair(tmp_path / "b", 128, seed=2, nodata_collar=10)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "id,before,after,aoi\n"
        f"one,a/before.tif,a/after.tif,\n"
        f"broken,a/missing.tif,a/after.tif,\n"
        f"two,{second.before},{second.after},\n"
    )
    out = tmp_path / "results"
    args = [
        "batch",
        str(pairs),
        "-o",
        str(out),
        "--model",
        str(ckpt),
        "--progress",
        "none",
        "--tile",
        "128",
        "--device",
        "cpu",
    ]
    assert main(args) == 1
    table = capsys.readouterr().err
    assert "1 failed" in table and "missing.tif" in table
    assert (out / "one" / "run.json").is_file() and (out / "two" / "run.json").is_file()
    assert not (out / "broken").exists()
    with open(out / "batch_report.csv", newline="") as handle:
        assert [(r["id"], r["status"]) for r in csv.DictReader(handle)] == [
            ("one", "done"),
            ("broken", "failed"),
            ("two", "done"),
        ]

    stamp = (out / "one" / "change_type.tif").stat().st_mtime_ns
    assert main(args) == 1
    assert "2 skipped" in capsys.readouterr().err
    assert (out / "one" / "change_type.tif").stat().st_mtime_ns == stamp
    assert first.before.exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("name,before,after\nx,a.tif,b.tif\n", "missing id"),
        ("id,before,after\nx,a,b\nx,c,d\n", "appears twice"),
        ("id,before,after\n../x,a,b\n", "cannot name a folder"),
    ],
)
def test_a_bad_pairs_file_is_an_input_error(tmp_path, capsys, content, problem):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(content)
    assert main(["batch", str(pairs), "-o", str(tmp_path / "out"), "--model", "m.ckpt"]) == 2
    assert problem in capsys.readouterr().err
