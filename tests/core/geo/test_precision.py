"""``--precision``: int8 (ONNX Runtime's static quantisation, calibrated on synthetic scenes, cached
beside the fp32 export) and bf16 (torch's autocast on the CPU), each kept only where its change types
agree with fp32's; run.json records the precision that ran."""

from __future__ import annotations

import json

import pytest
import torch
from detect_testing import tiny_checkpoint

import scd_core
from scd_core import checkpoint
from scd_core.cli import main
from scd_core.geo import precision
from scd_core.models import build

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("int8") / "tiny.pt", name="fc_siam_diff", seed=2)


def ran(result) -> dict:
    return json.loads(result.outputs["run"].read_text())["options"]


def small(path, **hparams):
    """An untrained FC-Siam-diff of width 1: bf16 convolutions are slow on a CPU (see geo.precision)."""
    torch.manual_seed(0)
    return checkpoint.save(build("fc_siam_diff", width=1, **hparams), path, tile_size=128)


def test_int8_is_quantised_once_cached_beside_the_export_and_recorded(tmp_path, collared, rgb_model, onnx_cache):
    events: list[dict] = []
    first = scd_core.detect(collared.before, collared.after, rgb_model, tmp_path / "a", precision="int8",
                            progress=events.append, **FAST)  # fmt: skip
    assert ran(first)["precision"] == "int8" and ran(first)["runtime"] == "onnxruntime"
    assert any("quantising the model to int8 once" in e.get("text", "") for e in events)
    verdicts = list(onnx_cache.glob("onnx/*-int8.json"))
    assert len(verdicts) == 1 and verdicts[0].with_suffix(".onnx").is_file()
    assert json.loads(verdicts[0].read_text())["agreement"] >= precision.MIN_AGREEMENT
    events.clear()
    again = scd_core.detect(collared.before, collared.after, rgb_model, tmp_path / "b", precision="int8",
                            progress=events.append, **FAST)  # fmt: skip
    assert ran(again)["precision"] == "int8"
    assert not any("quantising" in e.get("text", "") for e in events)  # the cached model, not quantised again


def test_a_precision_that_fails_the_guard_leaves_fp32_and_says_so(tmp_path, collared, monkeypatch):
    monkeypatch.setattr(precision, "MIN_AGREEMENT", 1.01)  # no model agrees on more than every pixel
    model = small(tmp_path / "guarded.pt")  # a file of its own: a process keeps each file's runner (load_once)
    for asked in ("int8", "bf16"):  # (the guard is one for both: geo.precision.agreement)
        events: list[dict] = []
        result = scd_core.detect(collared.before, collared.after, model, tmp_path / asked, precision=asked,
                                 progress=events.append, **FAST)  # fmt: skip
        assert ran(result)["precision"] == "fp32"
        assert any(f"--precision {asked} agrees with fp32 on" in e.get("text", "") for e in events)


def test_bf16_runs_in_torch_where_it_agrees(tmp_path, collared):
    model = small(tmp_path / "small.pt")
    bf16 = scd_core.detect(collared.before, collared.after, model, tmp_path / "bf16", precision="bf16", **FAST)
    assert ran(bf16)["precision"] == "bf16" and ran(bf16)["runtime"] == "torch"


def test_a_model_synthetic_scenes_cannot_calibrate_stays_fp32(tmp_path, collared):
    nir = small(tmp_path / "nir.pt", in_channels=4)
    meta = checkpoint.load(nir)[1]
    assert precision.calibration_tiles(meta) is None  # synthetic scenes are red, green and blue
    events: list[dict] = []
    four = scd_core.detect(collared.before, collared.after, nir, tmp_path / "nir", precision="int8", bands=(1, 2, 3, 1),
                           progress=events.append, **FAST)  # fmt: skip
    assert ran(four)["precision"] == "fp32"
    assert any("judged on synthetic red, green and blue scenes" in e.get("text", "") for e in events)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--precision", "int8", "--runtime", "torch"], "--precision int8 runs in ONNX Runtime"),
        (["--precision", "bf16", "--runtime", "onnxruntime"], "--precision bf16 runs in torch"),
        (["--precision", "fp16"], "--precision takes fp32, bf16 or int8, got 'fp16'"),
    ],
)
def test_a_precision_the_runtime_cannot_run_is_refused_before_any_work(tmp_path, collared, rgb_model, capsys,
                                                                        options, message):  # fmt: skip
    out = tmp_path / "out"
    args = [str(collared.before), str(collared.after), "--model", str(rgb_model), "-o", str(out), "--progress", "none"]
    assert main(["detect", *args, *options]) == 2
    assert message in capsys.readouterr().err and not out.exists()
