"""``scd train`` on synthetic georeferenced scenes: every label form, binary and semantic labels, four
bands of uint16, resume and fine-tuning; and its model.pt running in ``scd detect`` at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import torch

from scd_core import checkpoint
from scd_core.cli import main
from tests.core.own_data.conftest import QUICK, pair_row, write_pairs

FORMS = {
    "change raster": ({"change": "change.tif"}, [], "change", 1),
    "class rasters": ({"label1": "label1.tif", "label2": "label2.tif"}, ["--classes", "{classes}"], "semantic", 6),
    "from-to raster": ({"fromto": "change_type.tif"}, ["--classes", "{classes}"], "semantic", 6),
    "change polygons": ({"labels": "change.geojson"}, ["--change-field", "changed"], "change", 1),
    "from-to polygons": (
        {"labels": "fromto.gpkg"},
        ["--from-field", "from_class", "--to-field", "to_class", "--classes", "{classes}"],
        "semantic",
        6,
    ),
    "land-cover layers": (
        {"labels1": "cover1.gpkg", "labels2": "cover2.gpkg"},
        ["--class-field", "cover", "--classes", "{classes}"],
        "semantic",
        6,
    ),
}


def train(scene, tmp_path, labels: dict[str, str], options: list[str], name: str = "run") -> int:
    pairs = write_pairs(tmp_path / f"{name}.csv", [pair_row(scene, **labels)])
    options = [o.replace("{classes}", str(scene / "classes.yaml")) for o in options]
    return main(["train", str(pairs), "-o", str(tmp_path / name), *QUICK, "--progress", "none", *options])


@pytest.mark.parametrize("form", FORMS)
def test_every_label_form_trains_a_checkpoint_of_its_task_with_the_pairs_bands(scene, tmp_path, form):
    labels, options, task, classes = FORMS[form]
    assert train(scene, tmp_path, labels, options) == 0
    _, metadata = checkpoint.read(tmp_path / "run" / "model.pt")
    assert checkpoint.task_of(metadata) == task
    assert metadata["hparams"]["num_classes"] == classes
    assert metadata["bands"] == ["red", "green", "blue", "nir"]
    normalisation = metadata["normalisation"]
    assert normalisation["scale"] == "auto" and len(normalisation["mean"]) == 4
    assert all(s > 1 for s in normalisation["std"])  # stretched uint16 values span much of 0..255
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert "change" in record["val"]
    assert ("from_to" in record["val"]) == (task == "semantic")


@pytest.mark.parametrize("form", ["change raster", "class rasters"])
def test_the_run_folders_model_runs_in_scd_detect_at_once(scene, tmp_path, form):
    labels, options, task, _ = FORMS[form]
    assert train(scene, tmp_path, labels, options) == 0
    out = tmp_path / "detected"
    args = [str(scene / "before.tif"), str(scene / "after.tif"), "--model", str(tmp_path / "run" / "model.pt")]
    assert main(["detect", *args, "-o", str(out), "--progress", "none"]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run.get("task", "semantic") == task
    assert (out / "before_class.tif").exists() == (task == "semantic")


def test_binary_and_semantic_pairs_mix_in_one_semantic_run(scene, tmp_path):
    rows = [
        pair_row(scene, "binary", change="change.tif"),
        pair_row(scene, "semantic", label1="label1.tif", label2="label2.tif"),
    ]
    pairs = write_pairs(tmp_path / "pairs.csv", rows)
    args = ["train", str(pairs), "-o", str(tmp_path / "run"), *QUICK, "--progress", "none"]
    assert main([*args, "--classes", str(scene / "classes.yaml")]) == 0
    _, metadata = checkpoint.read(tmp_path / "run" / "model.pt")
    assert checkpoint.task_of(metadata) == "semantic"


def test_a_run_killed_after_an_epoch_resumes_to_the_weights_of_an_uninterrupted_one(scene, tmp_path):
    """Every run in a fresh process, as a user's are: a test process whose earlier tests changed torch's
    thread count would sum in another order, and bit-for-bit equality is the claim."""
    pairs = write_pairs(tmp_path / "pairs.csv", [pair_row(scene, change="change.tif")])
    quick = [*QUICK, "--epochs", "3", "--chips", "16"]

    def command(out: str) -> list[str]:
        return [sys.executable, "-m", "scd_core", "train", str(pairs), "-o", str(tmp_path / out), *quick]

    subprocess.run([*command("whole"), "--progress", "none"], check=True)
    process = subprocess.Popen([*command("cut"), "--progress", "json"], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if json.loads(line).get("event") == "epoch":  # epoch 1 is written: kill the run in epoch 2
            process.send_signal(signal.SIGKILL)
            break
    process.wait()
    assert process.returncode == -signal.SIGKILL
    subprocess.run([*command("cut"), "--progress", "none", "--resume"], check=True)
    assert "resumed after epoch 1" in (tmp_path / "cut" / "log.txt").read_text()
    whole, _ = checkpoint.read(tmp_path / "whole" / "model.pt")
    resumed, _ = checkpoint.read(tmp_path / "cut" / "model.pt")
    assert all(torch.equal(whole[key], resumed[key]) for key in whole)


def test_fine_tuning_on_other_classes_starts_the_heads_afresh_and_says_so(scene, tmp_path, capsys):
    assert train(scene, tmp_path, {"change": "change.tif"}, [], "base") == 0
    base = tmp_path / "base" / "model.pt"
    pairs = write_pairs(tmp_path / "semantic.csv", [pair_row(scene, label1="label1.tif", label2="label2.tif")])
    quick = [q for q in QUICK if q not in ("--encoder-weights", "none")]
    args = ["train", str(pairs), "-o", str(tmp_path / "tuned"), *quick, "--init", str(base)]
    capsys.readouterr()
    assert main([*args, "--classes", str(scene / "classes.yaml"), "--progress", "none"]) == 0
    assert "the heads" in capsys.readouterr().err and "start afresh" in (tmp_path / "tuned" / "log.txt").read_text()
    _, metadata = checkpoint.read(tmp_path / "tuned" / "model.pt")
    _, base_metadata = checkpoint.read(base)
    assert metadata["hparams"]["num_classes"] == 6 and metadata["normalisation"] == base_metadata["normalisation"]


def test_fine_tuning_the_same_classes_loads_every_weight(scene, tmp_path):
    assert train(scene, tmp_path, {"change": "change.tif"}, [], "base") == 0
    quick = [q for q in QUICK if q not in ("--encoder-weights", "none")]
    args = ["train", str(tmp_path / "base.csv"), "-o", str(tmp_path / "tuned"), *quick, "--progress", "none"]
    assert main([*args, "--init", str(tmp_path / "base" / "model.pt")]) == 0
    assert "every weight loaded" in (tmp_path / "tuned" / "log.txt").read_text()


def test_json_progress_gives_an_epoch_event_per_epoch_and_trained_last(scene, tmp_path, capsys):
    capsys.readouterr()
    assert train(scene, tmp_path, {"change": "change.tif"}, ["--epochs", "2", "--progress", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["epoch"] for e in lines if e["event"] == "epoch"] == [1, 2]
    assert not [e for e in lines if e["event"] == "message" and e["text"].startswith("epoch ")]  # told once
    assert lines[-1]["event"] == "trained" and lines[-1]["model"] == str(tmp_path / "run" / "model.pt")
    assert "F1" in lines[-1]["scores"]["change"]
