"""Imagery over HTTP: COGs served by a real server on loopback (:mod:`http_testing`), read through
``/vsicurl/`` (or a plain ``http://`` URL) by ``scd detect`` and ``scd batch``.

A run over the server gives the local run's pixels; a ``--bbox`` run on a corner of a larger COG
fetches a small part of it (its overviews serve the whole-raster reads), and of a file without
overviews too (a lattice of windows samples it); a server that fails during
the run, a missing file and a server that is down each end the run with one line naming the URL
and nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from detect_testing import run_scd
from http_testing import RangeServer

from scd_core.synth import write_geo_pair

MAPS = ("change_type.tif", "before_class.tif", "after_class.tif", "change_prob.tif")


def _cogs(folder: Path, size: int) -> Path:
    """A synthetic pair as COGs of 256² blocks with overviews, in ``folder``."""
    pair = write_geo_pair(folder / "pair", size, seed=3, keep_scene=False)
    for name in ("before", "after"):
        rasterio.shutil.copy(
            getattr(pair, name), folder / f"{name}.tif", driver="COG", blocksize=256, compress="deflate"
        )
    return folder


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return _cogs(tmp_path_factory.mktemp("small"), 512)


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    return _cogs(tmp_path_factory.mktemp("large"), 2048)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch) -> None:
    """GDAL's retries of a failing request as a run makes them, without their second-long waits (the
    environment's setting wins over the run's)."""
    monkeypatch.setenv("GDAL_HTTP_RETRY_DELAY", "0.01")


def _detect(before: str, after: str, out: Path, ckpt: Path, *options: str):
    return run_scd("detect", before, after, "-o", out, "--model", ckpt, "--progress", "none", *options)


def _corner_bbox(cog: Path) -> str:
    """A 200 × 200 m box (400² pixels) in the upper-left corner of ``cog``."""
    with rasterio.open(cog) as dataset:
        left, top = dataset.bounds.left, dataset.bounds.top
    return f"{left + 20},{top - 220},{left + 220},{top - 20}"


def _refused(result, url: str, out: Path) -> None:
    """Exit 2, one line naming ``url``, and no output folder."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0], result.stderr
    assert not out.exists()


def test_a_run_over_http_gives_the_local_runs_outputs(small, ckpt, tmp_path):
    local = _detect(str(small / "before.tif"), str(small / "after.tif"), tmp_path / "local", ckpt)
    assert local.returncode == 0, local.stderr
    with RangeServer(small) as server:
        remote = _detect(server.vsicurl("before.tif"), server.url("after.tif"), tmp_path / "remote", ckpt)
        assert remote.returncode == 0, remote.stderr
    for name in MAPS:
        with rasterio.open(tmp_path / "local" / name) as a, rasterio.open(tmp_path / "remote" / name) as b:
            assert a.transform == b.transform and np.array_equal(a.read(), b.read()), name
    run, local_run = (json.loads((tmp_path / folder / "run.json").read_text()) for folder in ("remote", "local"))
    assert run["counts"] == local_run["counts"]
    assert run["inputs"]["before"]["path"] == server.vsicurl("before.tif")
    assert run["inputs"]["after"]["path"] == server.vsicurl("after.tif")  # a plain URL is read as /vsicurl/
    assert run["inputs"]["before"]["bytes"] is None and len(run["request"]["before"]) == 64


def test_a_batch_over_http_runs_and_is_skipped_when_run_again(small, ckpt, tmp_path):
    with RangeServer(small) as server:
        pairs = tmp_path / "pairs.csv"
        pairs.write_text(f"id,before,after\none,{server.vsicurl('before.tif')},{server.url('after.tif')}\n")
        args = ("batch", pairs, "-o", tmp_path / "out", "--model", ckpt, "--progress", "none")
        first = run_scd(*args)
        assert first.returncode == 0, first.stderr
        served = sum(server.served.values())
        again = run_scd(*args)
        assert again.returncode == 0, again.stderr
        skipped_cost = sum(server.served.values()) - served
    report = (tmp_path / "out" / "batch_report.csv").read_text()
    assert ",skipped," in report, report
    size = sum((small / name).stat().st_size for name in ("before.tif", "after.tif"))
    assert skipped_cost < 0.25 * size, f"telling the pair was done fetched {skipped_cost} of {size} bytes"


def test_a_bbox_run_fetches_a_small_part_of_the_files(large, ckpt, tmp_path):
    with RangeServer(large) as server:
        result = _detect(
            server.vsicurl("before.tif"), server.vsicurl("after.tif"), tmp_path / "out", ckpt,
            "--bbox", _corner_bbox(large / "before.tif"),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        served = dict(server.served)
    size = sum((large / name).stat().st_size for name in ("before.tif", "after.tif"))
    assert sum(served.values()) < 0.5 * size, f"served {served} of {size} bytes"
    with rasterio.open(tmp_path / "out" / "change_type.tif") as change:
        assert change.shape == (400, 400)


def test_a_remote_file_without_overviews_is_sampled_not_fetched_whole(large, ckpt, tmp_path):
    plain = large / "pair"  # the synthetic pair's tiled GeoTIFFs, which have no overviews
    bbox = _corner_bbox(plain / "before.tif")
    local = _detect(str(plain / "before.tif"), str(plain / "after.tif"), tmp_path / "local", ckpt, "--bbox", bbox)
    assert local.returncode == 0, local.stderr
    with RangeServer(plain) as server:
        result = _detect(
            server.vsicurl("before.tif"), server.vsicurl("after.tif"), tmp_path / "out", ckpt, "--bbox", bbox
        )
        assert result.returncode == 0, result.stderr
        served = dict(server.served)
    size = sum((plain / name).stat().st_size for name in ("before.tif", "after.tif"))
    assert sum(served.values()) < 0.5 * size, f"served {served} of {size} bytes"
    with (
        rasterio.open(tmp_path / "local" / "change_type.tif") as a,
        rasterio.open(tmp_path / "out" / "change_type.tif") as b,
    ):
        assert np.array_equal(a.read(), b.read())  # 8-bit imagery has a fixed stretch: the sample changes no pixel


@pytest.mark.parametrize("failure", ["500", "close"])
def test_a_server_failing_during_the_run_ends_it_with_nothing_written(large, ckpt, tmp_path, failure):
    bbox = _corner_bbox(large / "before.tif")
    with RangeServer(large) as server:
        whole = _detect(
            server.vsicurl("before.tif"), server.vsicurl("after.tif"), tmp_path / "whole", ckpt, "--bbox", bbox
        )
        assert whole.returncode == 0, whole.stderr
        requests = server.requests
    with RangeServer(large) as server:  # the same run, whose last request fails
        server.fail_after, server.failure = requests - 1, failure
        names = (server.vsicurl("before.tif"), server.vsicurl("after.tif"))
        result = _detect(*names, tmp_path / "out", ckpt, "--bbox", bbox)
        log = server.log
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and any(name in errors[0] for name in names), result.stderr
    assert "tiles →" in result.stderr and "could not be read over the network" in errors[0], log
    assert not (tmp_path / "out").exists()


def test_a_missing_file_and_a_server_that_is_down_are_refused(small, ckpt, tmp_path):
    with RangeServer(small) as server:
        missing = server.vsicurl("missing.tif")
        _refused(_detect(server.vsicurl("before.tif"), missing, tmp_path / "a", ckpt), missing, tmp_path / "a")
        down = server.vsicurl("before.tif")
    _refused(_detect(down, down.replace("before", "after"), tmp_path / "b", ckpt), down, tmp_path / "b")
