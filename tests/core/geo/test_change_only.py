"""A change-only checkpoint (metadata ``task: change``, one class) runs everywhere: ``scd detect``
writes change / no change without class maps or from-to fields, ``scd score`` gives binary scores,
``scd batch`` and ``--cluster`` run it, and the checkpoint's metadata is checked."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyogrio
import pytest
import rasterio
import torch
from detect_testing import run_scd
from PIL import Image

import scd_core
from scd_core import checkpoint
from scd_core.cli import main
from scd_core.errors import CheckpointError
from scd_core.geo.scoring import score_outputs
from scd_core.legend import CHANGE_CLASSES
from scd_core.models import build
from scd_core.synth import write_geo_pair

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}
#: The files a change-only run writes, by protocol name: no before_class, no after_class.
CHANGE_OUTPUTS = {
    "change_type": "change_type.tif",
    "change_prob": "change_prob.tif",
    "changes": "changes.gpkg",
    "summary": "summary.csv",
    "summary_json": "summary.json",
    "run": "run.json",
    "preview": "preview.png",
    "report": "report.html",
}
#: The change probabilities of the model below spread over 0.5-1 on the pair; this threshold splits them.
THRESHOLD = 0.75


def change_model(path):
    """An untrained change-only model whose change head is sharpened, so that its change probability
    varies over the pair and the threshold marks some pixels changed and others not."""
    torch.manual_seed(0)
    model = build("fc_siam_diff", num_classes=1, width=4)
    with torch.no_grad():
        model.head.change.weight.mul_(300)
    return checkpoint.save(model, path, task="change", tile_size=128, threshold=THRESHOLD)


@pytest.fixture(scope="module")
def change_ckpt(tmp_path_factory):
    return change_model(tmp_path_factory.mktemp("change") / "change.pt")


@pytest.fixture(scope="module")
def change_run(collared, change_ckpt, tmp_path_factory):
    """One run with every pixel kept (no minimum mapping unit) and --decode paper, which it ignores."""
    events = []
    out = tmp_path_factory.mktemp("runs") / "out"
    result = scd_core.detect(
        collared.before, collared.after, change_ckpt, out, progress=events.append, mmu=0, decode="paper", **FAST
    )
    return result, events


def read(path):
    with rasterio.open(path) as dataset:
        return dataset.read(1)


def binary_reference(path, collared):
    """The pair's truth as a binary change mask (1 change, 0 none, 255 nodata where the truth has none)."""
    with rasterio.open(collared.change_type) as truth:
        codes, profile = truth.read(1), truth.profile
    mask = np.where(codes == 255, 255, codes > 0).astype(np.uint8)
    with rasterio.open(path, "w", **{**profile, "nodata": 255}) as dataset:
        dataset.write(mask, 1)
    return path


def test_a_change_run_writes_change_maps_and_no_class_maps(change_run):
    result, events = change_run
    assert sorted(p.name for p in result.out_dir.iterdir()) == sorted(CHANGE_OUTPUTS.values())
    assert {key: path.name for key, path in result.outputs.items()} == CHANGE_OUTPUTS
    (done,) = [event for event in events if event["event"] == "done"]
    assert set(done["outputs"]) == set(CHANGE_OUTPUTS)


def test_the_change_map_is_the_change_probability_over_the_threshold(change_run):
    result, _ = change_run
    codes, prob = read(result.outputs["change_type"]), read(result.outputs["change_prob"])
    assert set(np.unique(codes)) == {0, 1, 255}
    valid = codes != 255
    step = 1  # probabilities are stored rounded to 1/250
    assert np.all(codes[valid & (prob >= THRESHOLD * 250 + step)] == 1)
    assert np.all(codes[valid & (prob <= THRESHOLD * 250 - step)] == 0)
    with rasterio.open(result.outputs["change_type"]) as dataset:
        assert json.loads(dataset.tags()["scd_class_names"]) == {"0": "no change", "1": "change"}
        colours = dataset.colormap(1)
        assert dataset.descriptions == ("change (1) or no change (0)",)
    assert colours[1][:3] == CHANGE_CLASSES[1].rgb and colours[0][:3] == CHANGE_CLASSES[0].rgb
    assert colours[255][3] == 0


def test_polygons_have_the_change_probability_and_area_and_no_from_to_fields(change_run):
    result, _ = change_run
    info = pyogrio.read_info(result.outputs["changes"])
    assert list(info["fields"]) == ["change_type", "area_m2", "mean_prob"]
    frame = pyogrio.read_dataframe(result.outputs["changes"])
    assert len(frame) == result.counts["features"] > 0
    assert set(frame["change_type"]) == {1}
    assert frame["mean_prob"].min() >= THRESHOLD - 0.004
    assert frame["area_m2"].sum() / 10_000 == pytest.approx(result.counts["polygon_area_ha"], abs=1e-3)


def test_the_summaries_are_the_changed_and_unchanged_areas(change_run):
    result, _ = change_run
    with open(result.outputs["summary"], newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["category", "area (ha)"], ["change", f"{result.counts['polygon_area_ha']:.4f}"]]
    summary = json.loads(result.outputs["summary_json"].read_text())
    assert (
        summary["changed_ha"] == pytest.approx(result.counts["polygon_area_ha"], abs=1e-4)
        and "components" not in summary
    )
    # the unchanged area is the rest of the valid map: pixel counts × 0.25 m² within UTM's scale error
    with rasterio.open(result.outputs["change_type"]) as dataset:
        unchanged = int((dataset.read(1) == 0).sum())
    assert summary["unchanged_ha"] == pytest.approx(unchanged * 0.25 / 10_000, rel=2e-3)
    page = result.outputs["report"].read_text(encoding="utf-8")  # two areas, no matrix, no flows
    assert "<h2>Change</h2>" in page and "<svg" not in page and "Gains and losses" not in page


def test_run_json_records_the_task_and_no_decoding(change_run):
    result, events = change_run
    run = json.loads(result.outputs["run"].read_text())
    assert run["task"] == "change" and run["options"]["decode"] is None
    assert set(run["counts"]["pixels_by_change_type"]) == {"change"}
    warnings = [event["text"] for event in events if event["event"] == "warning"]
    assert "--decode paper is ignored: a change-only model has no classes to read" in warnings


def test_the_preview_shows_change(change_run):
    result, _ = change_run
    picture = np.asarray(Image.open(result.outputs["preview"]).convert("RGB"))
    assert np.all(picture == CHANGE_CLASSES[1].rgb, axis=-1).sum() > 100


def test_score_gives_binary_scores_against_a_binary_reference(change_run, collared, tmp_path, capsys):
    result, _ = change_run
    reference = binary_reference(tmp_path / "truth.tif", collared)
    assert main(["score", str(result.out_dir), str(reference), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    codes, truth = read(result.outputs["change_type"]), read(reference)
    counted = (codes != 255) & (truth != 255)
    predicted, actual = codes[counted] == 1, truth[counted] == 1
    precision = np.sum(predicted & actual) / np.sum(predicted)
    recall = np.sum(predicted & actual) / np.sum(actual)
    assert got["kind"] == "binary" and got["from_to"] is None and got["per_date"] is None
    assert got["pixels"] == counted.sum()
    assert got["binary"]["precision"] == pytest.approx(100 * precision)
    assert got["binary"]["recall"] == pytest.approx(100 * recall)
    assert set(got["binary"]) == {"precision", "recall", "F1", "IoU", "OA", "kappa"}


def test_a_per_date_reference_is_reduced_to_change_with_a_note(change_run, collared, tmp_path, capsys):
    result, _ = change_run
    binary = score_outputs(result.out_dir, [binary_reference(tmp_path / "truth.tif", collared)])
    assert main(["score", str(result.out_dir), str(collared.label1), str(collared.label2), "--json"]) == 0
    captured = capsys.readouterr()
    got = json.loads(captured.out)
    assert got["kind"] == "per-date" and got["from_to"] is None and got["per_date"] is None
    assert got["binary"] == pytest.approx(binary.binary)
    assert "change-only" in captured.err and "read as change where its label is not 0" in captured.err
    assert main(["score", str(result.out_dir), str(collared.label1), str(collared.label2)]) == 0
    text = capsys.readouterr().out
    assert "Note: the run is change-only" in text and "Changed area of the run" in text


def test_a_change_run_over_a_semantic_one_removes_its_class_maps(collared, ckpt, change_ckpt, tmp_path):
    out = tmp_path / "out"
    scd_core.detect(collared.before, collared.after, ckpt, out, **FAST)
    assert (out / "before_class.tif").is_file()
    scd_core.detect(collared.before, collared.after, change_ckpt, out, overwrite=True, **FAST)
    assert sorted(p.name for p in out.iterdir()) == sorted(CHANGE_OUTPUTS.values())


def test_batch_runs_a_change_model(collared, change_ckpt, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"id,before,after\none,{collared.before},{collared.after}\n")
    done = run_scd("batch", pairs, "-o", tmp_path / "out", "--model", change_ckpt, "--progress", "none",
                   "--tile", "128", "--device", "cpu")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "one").iterdir()) == sorted(CHANGE_OUTPUTS.values())
    assert json.loads((tmp_path / "out" / "one" / "run.json").read_text())["task"] == "change"


def test_a_split_run_on_a_cluster_gives_the_one_process_change_maps(change_ckpt, tmp_path):
    from distributed import Client, LocalCluster

    from scd_core.cluster.blocks import detect_on_cluster

    pair = write_geo_pair(tmp_path / "pair", 320, seed=3)  # four blocks of 256²
    one = scd_core.detect(pair.before, pair.after, change_ckpt, tmp_path / "one", **FAST)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:  # fmt: skip
        split = detect_on_cluster(client, pair.before, pair.after, change_ckpt, tmp_path / "split", block_size=256,
                                  **FAST)  # fmt: skip
    assert split.outputs.keys() == one.outputs.keys() == CHANGE_OUTPUTS.keys()
    for name in ("change_type", "change_prob"):
        assert np.array_equal(read(split.outputs[name]), read(one.outputs[name]))


def test_metadata_refuses_a_change_task_of_six_classes_and_an_unknown_task(tmp_path):
    with pytest.raises(ValueError, match=r"task 'change'.* num_classes 1.*6 classes"):
        checkpoint.save(build("fc_siam_diff", width=4), tmp_path / "six.pt", task="change")
    with pytest.raises(ValueError, match="task must be one of 'semantic', 'change', got 'binary'"):
        checkpoint.save(build("fc_siam_diff", num_classes=1, width=4), tmp_path / "odd.pt", task="binary")
    _, meta = checkpoint.load(change_model(tmp_path / "change.pt"))
    assert checkpoint.task_of(meta) == "change"
    renamed = {**meta, "classes": [meta["classes"][0], {**meta["classes"][1], "name": "class 1"}]}
    with pytest.raises(CheckpointError, match="lists the classes \\['no change', 'change'\\]"):
        checkpoint.validate_metadata(renamed)


def test_a_checkpoint_without_a_task_is_semantic(ckpt):
    _, meta = checkpoint.load(ckpt)
    assert "task" not in meta and checkpoint.task_of(meta) == "semantic"
