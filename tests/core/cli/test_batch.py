"""``scd batch``: many pairs, finished ones skipped on a re-run, a failure does not stop the others."""

from __future__ import annotations

import csv
import json

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


def test_new_options_recompute_with_overwrite_and_killed_runs_are_swept(tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path / "tiny.ckpt")
    pair = write_geo_pair(tmp_path / "a", 128, seed=1)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"id,before,after\none,{pair.before},{pair.after}\n")
    out = tmp_path / "results"
    args = ["batch", str(pairs), "-o", str(out), "--model", str(ckpt), "--progress", "none", "--tile", "128"]
    assert main(args) == 0
    capsys.readouterr()

    def threshold() -> float:
        return json.loads((out / "one" / "run.json").read_text())["options"]["threshold"]

    assert main([*args, "--threshold", "0.3"]) == 1  # other options, no --overwrite: refused, kept
    assert "--overwrite" in capsys.readouterr().err and threshold() == 0.5
    leftover = out / ".one.scd-dead1234"
    leftover.mkdir()
    (leftover / "change_type.tif").write_bytes(b"half")
    assert main([*args, "--threshold", "0.3", "--overwrite"]) == 0
    assert threshold() == 0.3 and not leftover.exists()
    assert "removed" in capsys.readouterr().err
    assert main([*args, "--threshold", "0.3", "--overwrite"]) == 0  # the same request: skipped
    assert "1 skipped" in capsys.readouterr().err
    (tmp_path / "a" / "after.tif").write_bytes(write_geo_pair(tmp_path / "c", 128, seed=9).after.read_bytes())
    assert main([*args, "--threshold", "0.3", "--overwrite"]) == 0  # an input changed: recomputed
    assert "1 done" in capsys.readouterr().err
