"""``--decode``: where change is declared, ``distinct`` reads the most probable pair of different
classes, ``paper`` each date's arg-max (ASN eq. 1); the choice reaches the engine from the API, the
command line, ``scd batch`` and ONNX Runtime, and run.json records it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import torch
from detect_testing import tiny_checkpoint

import scd_core
from scd_core.cli import main
from scd_core.errors import InvalidOptionError
from scd_core.geo.blending import Blender
from scd_core.geo.grid import TilePlan
from scd_core.geo.options import DetectOptions

CLASSES = 6
#: A low threshold, so that the untrained model declares change over much of the pair.
OPTIONS = {"tile": 128, "overlap": 32, "device": "cpu", "threshold": 0.2}


def _probabilities(height: int, width: int) -> np.ndarray:
    """(2N+1)×h×w softmax probabilities whose two dates mostly agree on their arg-max, as a model's do
    where its change head and semantic heads disagree; change declared at most pixels."""
    rng = np.random.default_rng(5)
    shared = rng.normal(0, 2, (CLASSES, height, width))
    dates = [np.exp(shared + rng.normal(0, 0.7, shared.shape)) for _ in range(2)]
    sem1, sem2 = (d / d.sum(0) for d in dates)
    change = np.where(rng.random((1, height, width)) < 0.8, 0.9, 0.2)  # clear of τ = 0.5
    return np.concatenate([sem1, sem2, change]).astype(np.float32)


def _decoded(probabilities: np.ndarray, decode: str) -> tuple[np.ndarray, np.ndarray]:
    height, width = probabilities.shape[1:]
    plan = TilePlan.build(height, width, 128, 0)
    blender = Blender(plan, torch.device("cpu"), 0.5, CLASSES, decode)
    (tile,) = plan.tiles()
    region = blender.add(tile, torch.from_numpy(probabilities), torch.ones(height, width, dtype=torch.bool))
    assert region is not None
    return region.before, region.after


def test_distinct_is_the_most_probable_pair_of_different_classes():
    probabilities = _probabilities(128, 128)
    sem1, sem2, change = probabilities[:CLASSES], probabilities[CLASSES : 2 * CLASSES], probabilities[-1]
    changed = change >= 0.5
    joint = sem1[:, None].astype(np.float64) * sem2[None, :]  # i × j × h × w
    joint[np.arange(CLASSES), np.arange(CLASSES)] = -1  # i ≠ j
    flat = joint.reshape(CLASSES * CLASSES, *change.shape)
    ranked = np.sort(flat, axis=0)
    clear = ranked[-1] - ranked[-2] > 1e-3 * ranked[-1]  # no near-tie that half precision could turn
    best = flat.argmax(0)
    before, after = _decoded(probabilities, "distinct")
    paper = _decoded(probabilities, "paper")
    assert (changed & (sem1.argmax(0) == sem2.argmax(0))).mean() > 0.3, "the test needs agreeing arg-maxes"
    assert np.array_equal(before[clear & changed], best[clear & changed] // CLASSES + 1)
    assert np.array_equal(after[clear & changed], best[clear & changed] % CLASSES + 1)
    assert not ((before == after) & (before != 0)).any()
    assert np.array_equal(before != 0, changed) and np.array_equal(after != 0, changed)
    differ = paper[0] != paper[1]
    assert np.array_equal(before[differ], paper[0][differ]) and np.array_equal(after[differ], paper[1][differ])


def test_paper_is_each_dates_arg_max():
    probabilities = _probabilities(64, 96)
    changed = probabilities[-1] >= 0.5
    dates = probabilities[:CLASSES], probabilities[CLASSES : 2 * CLASSES]
    top2 = [np.sort(date, axis=0)[-2:] for date in dates]
    clear = np.logical_and.reduce([top[1] - top[0] > 1e-3 for top in top2])  # no near-tie for half precision
    for decoded, date in zip(_decoded(probabilities, "paper"), dates, strict=True):
        assert np.array_equal(decoded[clear], ((date.argmax(0) + 1) * changed)[clear])
    before, after = _decoded(probabilities, "paper")
    assert ((before == after) & changed).mean() > 0.3


def _class_maps(out) -> tuple[np.ndarray, np.ndarray]:
    with rasterio.open(out / "before_class.tif") as first, rasterio.open(out / "after_class.tif") as second:
        return first.read(1), second.read(1)


def _same_class(out) -> int:
    before, after = _class_maps(out)
    return int(((before == after) & (before != 0) & (before != 255)).sum())


@pytest.fixture(scope="module")
def siamese(tmp_path_factory):
    """An untrained HRSCD.str4, whose two semantic branches share weights, so that its arg-max names one
    class on both dates wherever the images look alike (the tiny FC-EF names two different ones)."""
    return tiny_checkpoint(tmp_path_factory.mktemp("siamese") / "hrscd.ckpt", name="hrscd_str4")


def test_detect_decodes_distinct_by_default_and_paper_when_asked(tmp_path, collared, siamese):
    ckpt = siamese
    distinct = scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "distinct", **OPTIONS)
    paper = scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "paper", decode="paper", **OPTIONS)
    assert distinct.counts["changed_pixels"] > 1000
    assert _same_class(tmp_path / "distinct") == 0
    assert _same_class(tmp_path / "paper") > 0, "the untrained model names one class twice under eq. 1"
    records = [json.loads(r.outputs["run"].read_text())["options"]["decode"] for r in (distinct, paper)]
    assert records == ["distinct", "paper"]
    with rasterio.open(paper.outputs["change_prob"]) as a, rasterio.open(distinct.outputs["change_prob"]) as b:
        assert np.array_equal(a.read(1), b.read(1)), "the decoding changes classes, not where change is"


def test_hrscd_str2_is_read_by_its_joint_arg_max_whatever_decode_asks(tmp_path, collared):
    # eq. (1) with per-date arg-max is str2's joint arg-max (tests/core/models); distinct would move its
    # same-class pairs, so a run reads it so even when asked otherwise
    ckpt = tiny_checkpoint(tmp_path / "str2.ckpt", name="hrscd_str2", seed=3)
    runs = [
        scd_core.detect(collared.before, collared.after, ckpt, tmp_path / decode, decode=decode, **OPTIONS)
        for decode in ("distinct", "paper")
    ]
    assert [json.loads(r.outputs["run"].read_text())["options"]["decode"] for r in runs] == ["paper", "paper"]
    assert runs[0].counts["changed_pixels"] > 1000
    for name in ("change_type", "before_class", "after_class"):
        with rasterio.open(runs[0].outputs[name]) as a, rasterio.open(runs[1].outputs[name]) as b:
            assert np.array_equal(a.read(1), b.read(1))


def test_the_command_line_and_batch_take_decode(tmp_path, collared, siamese, capsys):
    ckpt = siamese
    common = ["--model", str(ckpt), "--tile", "128", "--threshold", "0.2", "--device", "cpu", "--progress", "none"]
    assert main(["detect", str(collared.before), str(collared.after), "-o", str(tmp_path / "one"), "--decode",
                 "paper", *common]) == 0  # fmt: skip
    assert _same_class(tmp_path / "one") > 0
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"id,before,after\nonly,{collared.before},{collared.after}\n")
    assert main(["batch", str(pairs), "-o", str(tmp_path / "batch"), "--decode", "paper", *common]) == 0
    assert _same_class(tmp_path / "batch" / "only") > 0
    assert json.loads((tmp_path / "batch/only/run.json").read_text())["options"]["decode"] == "paper"
    capsys.readouterr()
    assert main(["detect", str(collared.before), str(collared.after), "-o", str(tmp_path / "bad"), "--decode",
                 "argmax", *common]) == 2  # fmt: skip
    assert "--decode takes distinct or paper" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_an_unknown_decoding_is_refused_when_the_options_are_made():
    with pytest.raises(InvalidOptionError, match="--decode"):
        DetectOptions(decode="argmax")


def test_onnx_runtime_decodes_as_torch_does(tmp_path, collared, ckpt):
    pytest.importorskip("onnxruntime")
    runs = {
        runtime: scd_core.detect(collared.before, collared.after, ckpt, tmp_path / runtime, runtime=runtime, **OPTIONS)
        for runtime in ("torch", "onnxruntime")
    }
    assert _same_class(tmp_path / "onnxruntime") == 0
    assert json.loads(runs["onnxruntime"].outputs["run"].read_text())["options"]["runtime"] == "onnxruntime"
    torch_maps, onnx_maps = _class_maps(tmp_path / "torch"), _class_maps(tmp_path / "onnxruntime")
    for ours, theirs in zip(torch_maps, onnx_maps, strict=True):
        assert np.mean(ours == theirs) > 0.99  # the runtimes differ in rounding only
