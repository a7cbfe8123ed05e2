"""``--calibrate BEFORE AFTER …``: int8 and bf16 calibrated and judged on the user's own rasters, read
as a run reads them; cached by the calibration; refused where it cannot mean anything."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from detect_testing import tiny_checkpoint

import scd_core
from scd_core import checkpoint
from scd_core.cli import main
from scd_core.export import onnx_precision
from scd_core.geo import calibration
from scd_core.geo.inputs import prepare
from scd_core.geo.options import DetectOptions
from scd_core.geo.progress import RunLog, reporter
from scd_core.models import build
from scd_core.synth import write_geo_pair

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("calibrate") / "tiny.pt", name="fc_siam_diff", seed=3)


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """Another pair than the run's: the user's imagery to calibrate on."""
    return write_geo_pair(tmp_path_factory.mktemp("own"), 320, seed=7, nodata_collar=30)


def test_tiles_are_what_a_run_feeds_the_model_spread_over_valid_windows(own, rgb_model):
    options = DetectOptions(precision="int8", calibrate=(own.before, own.after), runtime="torch", **FAST)
    source = calibration.RasterCalibration.of(options, str(rgb_model), prepare)
    tiles = source.tiles(RunLog(reporter("none")))
    assert 1 <= len(tiles) <= calibration.TILES_PER_PAIR
    for x1, x2 in tiles:
        assert x1.shape == x2.shape == (1, 3, 256, 256) and x1.dtype == np.float32
        assert np.isfinite(x1).all() and x1.std() > 0.1  # normalised imagery, not a blank window
    assert len({x1.tobytes() for x1, _ in tiles}) == len(tiles)  # distinct windows
    again = calibration.RasterCalibration.of(options, str(rgb_model), prepare)
    assert source.key == again.key
    other = calibration.RasterCalibration.of(
        DetectOptions(precision="int8", calibrate=(own.after, own.before)), "m", prepare
    )
    assert other.key != source.key


def test_int8_calibrated_on_own_rasters_is_cached_by_them_and_recorded(tmp_path, collared, own, rgb_model, onnx_cache):
    events: list[dict] = []
    result = scd_core.detect(collared.before, collared.after, rgb_model, tmp_path / "a", precision="int8",
                             calibrate=(own.before, own.after), progress=events.append, **FAST)  # fmt: skip
    run = json.loads(result.outputs["run"].read_text())
    assert run["options"]["calibrate"] == [str(own.before), str(own.after)]
    verdicts = list(onnx_cache.glob("onnx/*-int8-*.json"))
    assert len(verdicts) == 1 and verdicts[0].with_suffix(".onnx").is_file()
    verdict = json.loads(verdicts[0].read_text())
    assert verdict["source"] == [[str(own.before), str(own.after)]] and verdict["tiles"] >= 1
    assert run["options"]["precision"] == ("int8" if verdict["agreement"] >= 0.99 else "fp32")
    assert any("quantising the model to int8 once" in e.get("text", "") for e in events)
    events.clear()
    scd_core.detect(collared.before, collared.after, rgb_model, tmp_path / "b", precision="int8",
                    calibrate=(own.before, own.after), progress=events.append, **FAST)  # fmt: skip
    assert not any("quantising" in e.get("text", "") for e in events)  # the same rasters: the cached graph


def test_own_rasters_calibrate_a_model_synthetic_scenes_cannot(tmp_path, collared, own, onnx_cache):
    torch.manual_seed(0)
    nir = checkpoint.save(build("fc_siam_diff", width=1, in_channels=4), tmp_path / "nir.pt", tile_size=128)
    events: list[dict] = []
    scd_core.detect(collared.before, collared.after, nir, tmp_path / "nir", precision="int8", bands=(1, 2, 3, 1),
                    calibrate=(own.before, own.after), progress=events.append, **FAST)  # fmt: skip
    assert not any("judged on synthetic" in e.get("text", "") for e in events)
    assert any("quantising the model to int8 once" in e.get("text", "") for e in events)


def test_scd_export_calibrates_on_own_rasters(tmp_path, own, rgb_model, capsys):
    output = tmp_path / "model.onnx"
    code = main(["export", str(rgb_model), "-o", str(output), "--precision", "int8", "--calibrate", str(own.before),
                 str(own.after)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr()
    assert onnx_precision(output) == ("int8" if f"{output}: int8;" in printed.out else "fp32")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--calibrate", "a.tif", "b.tif"],
            "--calibrate calibrates a reduced precision: give --precision int8 or bf16",
        ),
        (
            ["--precision", "int8", "--calibrate", "a.tif"],
            "--calibrate takes pairs of rasters, before and after in turn",
        ),
        (["--precision", "int8", "--calibrate", "missing.tif", "gone.tif"], "missing.tif"),
    ],
)
def test_calibration_that_cannot_mean_anything_is_refused_and_nothing_is_written(tmp_path, collared, rgb_model,
                                                                                 capsys, extra, message):  # fmt: skip
    out = tmp_path / "out"
    args = [str(collared.before), str(collared.after), "--model", str(rgb_model), "-o", str(out), "--progress", "none"]
    assert main(["detect", *args, "--tile", "128", "--overlap", "32", *extra]) == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1 and not out.exists()
