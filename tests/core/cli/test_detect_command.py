"""``scd detect`` as a command: bad input exits 2 and writes nothing, the JSON-lines protocol, cancel."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import numpy as np
import pytest
import rasterio
from detect_testing import default_interrupt, run_scd, scd_command

from scd_core.cli import main
from scd_core.geo.pipeline import OUTPUT_FILES
from scd_core.synth import write_geo_pair

# ------------------------------------------------------------------------------------ bad input


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, collared):
    root = tmp_path_factory.mktemp("bad")
    profile = {"driver": "GTiff", "width": 64, "height": 64, "count": 3, "dtype": "uint8"}
    with rasterio.open(root / "no_crs.tif", "w", **profile) as dataset:
        dataset.write(np.full((3, 64, 64), 100, np.uint8))
    far = write_geo_pair(root / "far", 64, seed=0, origin=(600000.0, 5000000.0))
    two_bands = root / "two_bands.tif"
    with rasterio.open(collared.before) as src, rasterio.open(two_bands, "w", **{**src.profile, "count": 2}) as dataset:
        dataset.write(src.read([1, 2]))
    corrupt = root / "corrupt.tif"
    corrupt.write_bytes(collared.before.read_bytes()[:2000])
    empty_aoi = root / "empty.geojson"
    empty_aoi.write_text(
        '{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}, "features": []}'
    )
    occupied = root / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    a_file = root / "a_file.txt"
    a_file.write_text("not a folder")
    return {
        "no_crs": (["{no_crs}", "{after}"], root / "no_crs.tif", root / "no_crs.tif"),
        "no_overlap": (["{before}", "{far}"], far.after, None),
        "bands": (["{two_bands}", "{after}"], two_bands, None),
        "corrupt": (["{corrupt}", "{after}"], corrupt, None),
        "empty_aoi": (["{before}", "{after}", "--aoi", "{empty_aoi}"], empty_aoi, None),
        "aoi_outside": (["{before}", "{after}", "--bbox", "0,0,10,10,EPSG:4326"], "--bbox", None),
        "occupied": (["{before}", "{after}", "-o", "{occupied}"], occupied, None),
        "unwritable": (["{before}", "{after}", "-o", "{a_file}/out"], None, None),
        "proc": (["{before}", "{after}", "-o", "/proc/scd-out"], None, None),
    }, {
        "no_crs": root / "no_crs.tif",
        "far": far.after,
        "two_bands": two_bands,
        "corrupt": corrupt,
        "empty_aoi": empty_aoi,
        "occupied": occupied,
        "a_file": a_file,
        "before": collared.before,
        "after": collared.after,
    }


CASES = ["no_crs", "no_overlap", "bands", "corrupt", "empty_aoi", "aoi_outside", "occupied", "unwritable", "proc"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_naming_the_file_and_writes_nothing(case, bad_inputs, ckpt, tmp_path, capsys):
    cases, files = bad_inputs
    template, named, _ = cases[case]
    args = [a.format(**files) for a in template]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out")]
    parent_before = sorted(p.name for p in tmp_path.iterdir())
    occupied_before = sorted(p.name for p in files["occupied"].iterdir())
    code = main(["detect", *args, "--model", str(ckpt), "--progress", "none", "--tile", "128"])
    error = capsys.readouterr().err
    assert code == 2
    assert "error:" in error
    if named is not None:
        assert str(named) in error
    assert sorted(p.name for p in tmp_path.iterdir()) == parent_before  # no output folder, no staging folder
    assert sorted(p.name for p in files["occupied"].iterdir()) == occupied_before


def test_json_protocol_on_stdout_and_error_event(tmp_path, collared, ckpt):
    done = run_scd(
        "detect",
        collared.before,
        collared.after,
        "-o",
        tmp_path / "out",
        "--model",
        ckpt,
        "--tile",
        "128",
        "--progress",
        "json",
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert next(e["event"] for e in events) == "start" and events[-1]["event"] == "done"
    assert {"total", "out_dir", "width", "height", "crs"} <= events[0].keys() and events[0]["crs"] == "EPSG:32633"
    assert set(events[-1]["outputs"]) == set(OUTPUT_FILES)
    assert {"features", "changed_pixels"} <= events[-1]["counts"].keys()
    bad = run_scd(
        "detect",
        tmp_path / "missing.tif",
        collared.after,
        "-o",
        tmp_path / "out2",
        "--model",
        ckpt,
        "--progress",
        "json",
    )
    assert bad.returncode == 2
    (error,) = [json.loads(line) for line in bad.stdout.splitlines()]
    assert error["event"] == "error" and error["path"] == str(tmp_path / "missing.tif")


@pytest.fixture(scope="module")
def big_pair(tmp_path_factory):
    return write_geo_pair(tmp_path_factory.mktemp("big"), 1024, seed=6)


@pytest.mark.parametrize(("signal_number", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cancel_stops_within_seconds_and_leaves_nothing(tmp_path, big_pair, ckpt, signal_number, exit_code):
    out = tmp_path / "out"
    command = scd_command(
        "detect",
        big_pair.before,
        big_pair.after,
        "-o",
        out,
        "--model",
        ckpt,
        "--tile",
        "128",
        "--batch",
        "1",
        "--progress",
        "json",
    )
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_interrupt
    )
    for line in process.stdout:
        if json.loads(line)["event"] == "progress":
            break
    sent = time.monotonic()
    process.send_signal(signal_number)
    process.wait(timeout=30)
    assert process.returncode == exit_code
    assert time.monotonic() - sent < 15
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
