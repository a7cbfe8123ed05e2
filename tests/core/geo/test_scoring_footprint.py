"""``scd score`` scores only where the reference has data, and refuses what is not a label."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

import scd_core
from scd_core.cli import main
from scd_core.geo.scoring import binary_scores

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


@pytest.fixture(scope="module")
def run(collared, ckpt, tmp_path_factory):
    return scd_core.detect(collared.before, collared.after, ckpt, tmp_path_factory.mktemp("run") / "out", **FAST)


def _reference(path, run, values, dtype="uint8", nodata=None, rows=None):
    """A reference on the output grid, its first ``rows`` rows only (all of them by default)."""
    values = np.asarray(values)
    with rasterio.open(run.outputs["change_type"]) as grid:
        transform, crs = grid.transform, grid.crs
    bands = values if values.ndim == 3 else values[None]
    rows = bands.shape[1] if rows is None else rows
    profile = {"driver": "GTiff", "width": bands.shape[2], "height": rows, "count": len(bands),
               "dtype": dtype, "crs": crs, "transform": transform, "nodata": nodata}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(bands[:, :rows].astype(dtype))
    return str(path)


def _codes(run):
    with rasterio.open(run.outputs["change_type"]) as dataset:
        return dataset.read(1)


def _score(capsys, *args):
    code = main(["score", *args, "--json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else captured.err)


def test_a_reference_of_half_the_run_scores_that_half_only(tmp_path, run, capsys):
    codes = _codes(run)
    truth = (np.random.default_rng(3).random(codes.shape) < 0.2).astype(np.uint8)
    half = codes.shape[0] // 2
    reference = _reference(tmp_path / "north.tif", run, truth, rows=half)  # no nodata value, no mask
    code, got = _score(capsys, str(run.out_dir), reference)
    assert code == 0
    valid = codes != 255
    north = valid.copy()
    north[half:] = False
    predicted, actual = codes[north] > 0, truth[north] > 0
    tp, fp = int(np.sum(predicted & actual)), int(np.sum(predicted & ~actual))
    fn, tn = int(np.sum(~predicted & actual)), int(np.sum(~predicted & ~actual))
    assert got["pixels"] == int(north.sum()) and got["outside_reference"] == int(valid[half:].sum()) > 0
    assert got["binary"] == pytest.approx(binary_scores(tp, fp, fn, tn))


def test_nodata_of_the_reference_counts_as_outside_it(tmp_path, run, capsys):
    codes = _codes(run)
    truth = np.zeros(codes.shape, np.uint8)
    truth[:, :10] = 9  # nodata
    code, got = _score(capsys, str(run.out_dir), _reference(tmp_path / "nd.tif", run, truth, nodata=9))
    assert code == 0
    assert got["outside_reference"] == int(np.sum(codes[:, :10] != 255))
    assert got["pixels"] == int(np.sum(codes[:, 10:] != 255))


def test_the_text_report_says_what_was_scored(tmp_path, run, capsys):
    codes = _codes(run)
    reference = _reference(tmp_path / "north.tif", run, np.zeros(codes.shape), rows=codes.shape[0] // 2)
    assert main(["score", str(run.out_dir), reference]) == 0
    out = capsys.readouterr().out
    outside = int(np.sum(codes[codes.shape[0] // 2 :] != 255))
    assert f"{outside:,} of the run's valid pixels lie outside the reference" in out


def test_a_three_band_image_is_not_a_reference(tmp_path, run, capsys):
    image = np.random.default_rng(4).integers(0, 3000, (3, *_codes(run).shape))
    code, err = _score(capsys, str(run.out_dir), _reference(tmp_path / "rgb.tif", run, image, dtype="uint16"))
    assert code == 2 and "has 3 bands" in err and err.count("\n") == 1


def test_a_one_band_image_is_not_a_binary_reference(tmp_path, run, capsys):
    image = np.random.default_rng(5).integers(0, 1000, _codes(run).shape)
    code, err = _score(capsys, str(run.out_dir), _reference(tmp_path / "b4.tif", run, image, dtype="uint16"))
    assert code == 2 and "a binary reference holds at most two" in err


def test_a_probability_map_is_not_a_reference(tmp_path, run, capsys):
    image = np.random.default_rng(6).random(_codes(run).shape)
    code, err = _score(capsys, str(run.out_dir), _reference(tmp_path / "p.tif", run, image, dtype="float32"))
    assert code == 2 and "not whole numbers" in err


def test_three_references_are_refused_with_exit_2(tmp_path, run, capsys):
    reference = _reference(tmp_path / "r.tif", run, np.zeros(_codes(run).shape))
    code, err = _score(capsys, str(run.out_dir), reference, reference, reference)
    assert code == 2 and "give one reference raster, or two per-date ones" in err


def test_a_change_code_out_of_range_names_the_range_of_the_run(tmp_path, run, capsys):
    codes = np.zeros(_codes(run).shape, np.uint8)
    codes[:20, :20] = 40  # six classes: codes are 0-36
    reference = _reference(tmp_path / "codes.tif", run, codes)
    code, err = _score(capsys, str(run.out_dir), reference, "--kind", "change-type")
    assert code == 2 and "0-36" in err and "40" in err
