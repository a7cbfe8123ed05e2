"""``scd export --precision int8``: the quantised graph, marked int8 in its metadata, which a detection
then runs and records as int8; fp32 with a warning where the guard refuses it; bf16 and a Deepness int8
refused before any work."""

from __future__ import annotations

import json

import pytest
import torch
from detect_testing import tiny_checkpoint

import scd_core
from scd_core import checkpoint
from scd_core.cli import main
from scd_core.export import onnx_metadata, onnx_precision
from scd_core.geo import precision
from scd_core.models import build

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("export-int8") / "tiny.pt", name="fc_siam_diff", seed=2)


def test_an_int8_export_carries_its_mark_and_a_detection_runs_and_records_it(tmp_path, collared, rgb_model, capsys):
    output = tmp_path / "model.onnx"
    assert main(["export", str(rgb_model), "-o", str(output), "--precision", "int8"]) == 0
    printed = capsys.readouterr().out
    assert f"{output}: int8; " in printed and "agree with fp32" in printed
    assert onnx_precision(output) == "int8"
    assert onnx_metadata(output) == checkpoint.load(rgb_model)[1]  # the checkpoint's metadata, as fp32's
    assert [path.name for path in tmp_path.iterdir()] == ["model.onnx"]  # no scratch left beside it
    result = scd_core.detect(collared.before, collared.after, output, tmp_path / "run", **FAST)
    options = json.loads(result.outputs["run"].read_text())["options"]
    assert options["precision"] == "int8" and options["runtime"] == "onnxruntime"


def test_an_int8_graph_the_guard_refuses_is_written_as_fp32_with_a_warning(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(precision, "MIN_AGREEMENT", 1.01)  # no graph agrees on more than every pixel
    torch.manual_seed(0)
    model = checkpoint.save(build("fc_siam_diff", width=1), tmp_path / "small.pt", tile_size=128)
    output = tmp_path / "model.onnx"
    assert main(["export", str(model), "-o", str(output), "--precision", "int8"]) == 0
    assert "warning: --precision int8 agrees with fp32 on" in capsys.readouterr().err
    assert onnx_precision(output) == "fp32"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.onnx", "small.pt"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--precision", "bf16"], "--precision bf16 runs in torch: an ONNX file is fp32 or int8"),
        (["--precision", "int8", "--format", "deepness"], "--precision int8 is for --format scd"),
    ],
)
def test_a_precision_an_onnx_file_cannot_carry_is_refused(tmp_path, rgb_model, capsys, options, message):
    output = tmp_path / "model.onnx"
    assert main(["export", str(rgb_model), "-o", str(output), *options]) == 2
    assert message in capsys.readouterr().err and not output.exists()
