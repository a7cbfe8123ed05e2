"""The checkpoint format: round trip, atomic writes, clear errors, every registry model."""

from __future__ import annotations

import pickle
import re

import pytest
import torch
from detect_testing import tiny_checkpoint

from scd_core import checkpoint
from scd_core.errors import CheckpointError
from scd_core.models import available, build


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    torch.manual_seed(3)
    model = build("fc_siam_diff", width=4)
    path = checkpoint.save(model, tmp_path / "m.ckpt", tile_size=256, epoch=7, bands=["red", "green", "blue"])
    loaded, meta = checkpoint.load(path)
    assert meta["model"] == "fc_siam_diff" and meta["hparams"]["width"] == 4
    assert meta["tile_size"] == 256 and meta["epoch"] == 7
    assert [c["name"] for c in meta["classes"]][:2] == ["no change", "water"]
    assert not loaded.training
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        expected, got = model.eval()(x, x), loaded(x, x)
    assert torch.equal(expected["change"], got["change"])


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path):
    path = tiny_checkpoint(tmp_path / "m.ckpt")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="band names"):  # metadata that does not fit the model: nothing is replaced
        checkpoint.save(build("fc_ef", width=4), path, bands=["red"])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.ckpt"]


@pytest.mark.parametrize(
    "metadata",
    [
        {"bands": ["red", "green"]},
        {"tile_size": 100},
        {"threshold": 1.5},
        {"normalisation": {"value_range": [0, 255], "mean": [0], "std": [1], "scale": "auto"}},
    ],
)
def test_metadata_that_does_not_fit_is_refused(tmp_path, metadata):
    with pytest.raises(ValueError, match=r"band names|normalisation|classes|tile_size|threshold|value_range|std"):
        checkpoint.save(build("fc_ef", width=4), tmp_path / "m.ckpt", **metadata)


def test_only_registry_models_can_be_saved(tmp_path):
    with pytest.raises(ValueError, match=r"scd_core\.models\.build"):
        checkpoint.save(torch.nn.Conv2d(3, 3, 1), tmp_path / "m.ckpt")


def test_missing_corrupt_and_foreign_files_are_input_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        checkpoint.load(tmp_path / "absent.ckpt")
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match=r"corrupt\.ckpt"):
        checkpoint.load(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not an scd checkpoint"):
        checkpoint.load(foreign)


def test_weights_that_do_not_fit_the_model_are_an_input_error(tmp_path):
    path = tiny_checkpoint(tmp_path / "m.ckpt")
    payload = torch.load(path, weights_only=True)
    payload["metadata"]["hparams"]["width"] = 8
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        checkpoint.load(path)


@pytest.mark.parametrize("name", available())
def test_every_registry_model_round_trips(tmp_path, name):
    model = build(name, width=4)
    _, meta = checkpoint.load(checkpoint.save(model, tmp_path / f"{name}.ckpt"))
    assert meta["model"] == name


def test_a_file_torch_cannot_load_is_told_by_what_it_is(tmp_path):
    """Every such file was "a PyTorch file holding Python objects", a GeoTIFF or a text file included."""

    files = {
        "empty.pt": (b"", "the file is empty"),
        "image.tif": (b"II*\x00" + bytes(200), "not a PyTorch file at all"),
        "notes.pt": (b"just some text\n" * 20, "not a PyTorch file at all"),
        "plain.pkl": (pickle.dumps({"weights": [1, 2]}), "a Python pickle, not a PyTorch file"),
    }
    for name, (content, reason) in files.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=f"not an scd checkpoint: {reason}"):
            checkpoint.load(tmp_path / name)
    whole_module = tmp_path / "module.pt"
    torch.save(torch.nn.Linear(2, 2), whole_module)
    with pytest.raises(CheckpointError, match="a PyTorch file holding Python objects"):
        checkpoint.load(whole_module)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(tiny_checkpoint(tmp_path / "whole.pt").read_bytes()[:3000])
    with pytest.raises(CheckpointError, match="damaged or truncated PyTorch file"):
        checkpoint.load(truncated)


def test_training_reads_init_from_with_the_same_reader(tmp_path):
    """One reader of the format: training's init_from refuses what ``load`` refuses, in the same words."""
    from scd_core.trainer.initialise import read_initial

    newer = tmp_path / "newer.pt"
    torch.save({"format": checkpoint.FORMAT, "version": checkpoint.VERSION + 1, "metadata": {}}, newer)
    notes = tmp_path / "notes.pt"
    notes.write_text("not weights\n" * 20)
    for path, reason in ((newer, "is newer than this scd"), (notes, "not a PyTorch file at all")):
        with pytest.raises(CheckpointError, match=reason) as loaded:
            checkpoint.load(path)
        with pytest.raises(CheckpointError, match=f"^{re.escape(f'{path}: init_from: {loaded.value.reason}')}$"):
            read_initial(path)
    initial = read_initial(tiny_checkpoint(tmp_path / "tiny.ckpt", name="fc_siam_diff"))
    assert initial.model == "fc_siam_diff" and initial.hparams["width"] == 4 and initial.state
