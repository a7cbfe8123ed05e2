"""ONNX export: the round trip, ONNX Runtime as detect's runtime, foreign files, and Deepness."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import rasterio
import torch
from detect_testing import run_scd, tiny_checkpoint

import scd_core
from scd_core import checkpoint, export
from scd_core.cli import main
from scd_core.geo import runtimes
from scd_core.geo.progress import RunLog, silent
from scd_core.synth import write_geo_pair

FAST = {"tile": 128, "overlap": 32, "device": "cpu", "mmu": 0}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    ckpt = tiny_checkpoint(folder / "tiny.pt", name="hrscd_str4", seed=3, threshold=0.45)
    assert main(["export", str(ckpt), "-o", str(folder / "tiny.onnx")]) == 0
    return ckpt, folder / "tiny.onnx"


def test_the_export_carries_the_checkpoints_metadata_and_its_outputs(exported):
    ckpt, path = exported
    model, meta = checkpoint.load(ckpt)
    assert export.onnx_metadata(path) == meta
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["scd_format"] == "scd-onnx-1" and json.loads(props["scd_version"]) == scd_core.__version__
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["before", "after"]
    assert [o.name for o in session.get_outputs()] == ["sem1", "sem2", "change"]
    x1, x2 = torch.randn(3, 3, 96, 160), torch.randn(3, 3, 96, 160)  # another batch and size than exported
    with torch.inference_mode():
        expected = model(x1, x2)
    got = session.run(None, {"before": x1.numpy(), "after": x2.numpy()})
    for name, value in zip(("sem1", "sem2", "change"), got, strict=True):
        assert np.allclose(value, expected[name].numpy(), atol=1e-4), name


def test_the_runner_fixes_the_shape_it_runs_and_a_tiles_outputs_do_not_depend_on_its_batch(exported):
    ckpt, path = exported
    model, _ = checkpoint.load(ckpt)
    cpu = torch.device("cpu")
    runner, torch_runner = runtimes.OnnxRunner(path, cpu), runtimes.TorchRunner(model, cpu, False)
    x1, x2 = torch.randn(3, 3, 100, 128), torch.randn(3, 3, 100, 128)
    full = runner(x1, x2)
    assert runner.shape == (3, 128, 128)  # 100 rows padded to the model's stride
    assert [i.shape for i in runner.session.get_inputs()] == [[3, 3, 128, 128]] * 2  # the free dimensions, fixed
    last = runner(x1[1:2], x2[1:2])  # a run's last batch: a session of its own
    assert runner.shape == (1, 128, 128)
    assert torch.equal(last, full[1:2])  # bit for bit: a split run gives the one-process pixels
    assert torch.allclose(full, torch_runner(x1, x2), atol=1e-4)
    runner(torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64))  # another tile size
    assert runner.shape == (2, 64, 64)


def test_an_onnx_model_and_the_onnxruntime_runtime_give_torchs_change_map(tmp_path, collared, exported):
    ckpt, path = exported
    results = {
        "torch": scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "torch", runtime="torch", **FAST),
        "ort": scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "ort", runtime="onnxruntime", **FAST),
        "file": scd_core.detect(collared.before, collared.after, path, tmp_path / "file", **FAST),
    }
    maps = {}
    for name, result in results.items():
        with rasterio.open(result.outputs["change_type"]) as dataset:
            maps[name] = dataset.read(1)
    assert np.mean(maps["ort"] == maps["torch"]) >= 0.999 and np.mean(maps["file"] == maps["torch"]) >= 0.999
    recorded = {name: json.loads(r.outputs["run"].read_text())["options"] for name, r in results.items()}
    assert recorded["torch"]["runtime"] == "torch" and recorded["ort"]["runtime"] == "onnxruntime"
    assert "CPUExecutionProvider" in recorded["file"]["providers"]


def test_the_export_is_cached_so_a_second_run_does_not_export_again(tmp_path, collared, onnx_cache):
    ckpt = tiny_checkpoint(tmp_path / "fresh.pt", seed=11)
    said = []
    for run in ("first", "second"):
        events = []
        scd_core.detect(collared.before, collared.after, ckpt, tmp_path / run, progress=events.append, **FAST)
        said.append([e["text"] for e in events if e["event"] == "message" and "exported" in e["text"]])
    assert len(said[0]) == 1 and said[1] == []
    assert len(list((onnx_cache / "onnx").glob("*.onnx"))) >= 1


class _Unexportable(torch.nn.Module):
    def forward(self, x1, x2):
        return {"sem1": x1, "sem2": x2, "change": torch.expm1(x1[:, :1])}  # no ONNX operator at opset 17


def test_a_model_that_does_not_export_runs_in_torch_and_says_so(tmp_path):
    model = _Unexportable()
    meta = checkpoint.default_metadata({"in_channels": 3, "num_classes": 3})
    meta = {**meta, "model": "none", "hparams": {"in_channels": 3, "num_classes": 3}}
    source = tmp_path / "weights.pt"
    source.write_bytes(b"stands for a checkpoint file")
    said = []
    log = RunLog(said.append)
    assert runtimes.cached_export(source, model, meta, log) is None
    assert any("does not export to ONNX" in e["text"] for e in said)
    runner = runtimes.choose("auto", model, meta, source, torch.device("cpu"), RunLog(silent))
    assert runner.name == "torch"


def test_an_onnx_file_that_is_not_an_scd_model_is_refused(tmp_path, collared):
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])],
        "foreign",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    foreign = tmp_path / "foreign.onnx"
    onnx.save(onnx.helper.make_model(graph), str(foreign))
    done = run_scd("detect", collared.before, collared.after, "-o", tmp_path / "out", "--model", foreign)
    assert done.returncode == 2 and f"{foreign}: an ONNX file, but not an scd model" in done.stderr
    assert not (tmp_path / "out").exists()


def test_an_existing_output_is_kept_unless_overwrite(exported, capsys):
    ckpt, path = exported
    before = path.read_bytes()
    assert main(["export", str(ckpt), "-o", str(path)]) == 2
    assert "--overwrite" in capsys.readouterr().err and path.read_bytes() == before


# ---------------------------------------------------------------- Deepness


def deepness_replay(path, stacked: np.ndarray) -> np.ndarray:
    """Deepness' rules for a Segmentor, replayed: one input and one 4-D square output; class names
    from JSON metadata with consecutive keys from 0; the tile (H×W×bands uint8) divided by 255,
    standardised with mean 0 and std 1, put in N×C×H×W; the class of a pixel is the arg-max channel
    where its value reaches seg_thresh, else class 0."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (tile_input,), (output,) = session.get_inputs(), session.get_outputs()
    assert len(output.shape) == 4 and output.shape[2] == output.shape[3]
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["model_type"]).capitalize() == "Segmentor"
    names = json.loads(meta["class_names"])
    assert [int(k) for k in names] == list(range(len(names)))
    assert output.shape[1] == len(names) and tile_input.shape[1] == stacked.shape[-1]
    batch = (stacked.astype(np.float32) / 255.0 - 0.0) / 1.0
    result = session.run(None, {tile_input.name: batch.transpose(2, 0, 1)[None]})[0][0]
    classes = result.argmax(0)
    classes[result.max(0) < json.loads(meta["seg_thresh"])] = 0
    return classes


def test_a_deepness_export_gives_scd_detects_change_types_on_a_tile(tmp_path):
    ckpt = tiny_checkpoint(tmp_path / "tiny.pt", name="hrscd_str4", seed=5, threshold=0.5)
    path = tmp_path / "deepness.onnx"
    assert main(["export", str(ckpt), "-o", str(path), "--format", "deepness", "--resolution", "50"]) == 0
    meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert json.loads(meta["tile_size"]) == 128 and json.loads(meta["resolution"]) == 50
    assert json.loads(meta["class_names"])["17"] == "low vegetation → building"
    pair = write_geo_pair(tmp_path / "pair", 128, seed=8)  # one tile: no blending
    with rasterio.open(pair.before) as before, rasterio.open(pair.after) as after:
        stacked = np.concatenate([before.read(), after.read()]).transpose(1, 2, 0)
    replayed = deepness_replay(path, stacked)
    result = scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "out", runtime="torch", **FAST)
    with rasterio.open(result.outputs["change_type"]) as dataset:
        detected = dataset.read(1)
    assert np.mean(replayed == detected) >= 0.999
