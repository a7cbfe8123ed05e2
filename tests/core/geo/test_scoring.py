"""``scd score`` against reference data on another grid: the counts a hand computation gives."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

import scd_core
from scd_core.cli import main
from scd_core.errors import NoOverlapError
from scd_core.geo.scoring import score_outputs
from scd_core.metrics import SCDConfusion

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


@pytest.fixture(scope="module")
def run(collared, ckpt, tmp_path_factory):
    return scd_core.detect(collared.before, collared.after, ckpt, tmp_path_factory.mktemp("run") / "out", **FAST)


def _coarse_reference(path, run, values, nodata=None):
    """A reference at twice the output's pixel size on the same corner: output pixel (r, c) is
    reference pixel (r // 2, c // 2) under nearest-neighbour resampling."""
    with rasterio.open(run.outputs["change_type"]) as grid:
        transform = from_origin(grid.transform.c, grid.transform.f, 2 * grid.res[0], 2 * grid.res[1])
        crs = grid.crs
    profile = {"driver": "GTiff", "width": values.shape[1], "height": values.shape[0], "count": 1,
               "dtype": "uint8", "crs": crs, "transform": transform, "nodata": nodata}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(values, 1)
    return path


def _read(path):
    with rasterio.open(path) as dataset:
        return dataset.read(1)


def test_binary_scores_agree_with_a_hand_computation(tmp_path, run, capsys):
    rng = np.random.default_rng(1)
    truth = (rng.random((128, 128)) < 0.3).astype(np.uint8) * 255  # any value > 0 is change
    truth[:10, :] = 200  # nodata of the reference
    reference = _coarse_reference(tmp_path / "truth.tif", run, truth, nodata=200)
    assert main(["score", str(run.out_dir), str(reference), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    codes = _read(run.outputs["change_type"])
    upsampled = truth.repeat(2, 0).repeat(2, 1)[: codes.shape[0], : codes.shape[1]]
    counted = (codes != 255) & (upsampled != 200)
    predicted, actual = codes[counted] > 0, upsampled[counted] > 0
    tp, fp = np.sum(predicted & actual), np.sum(predicted & ~actual)
    fn, tn = np.sum(~predicted & actual), np.sum(~predicted & ~actual)
    n = tp + fp + fn + tn
    observed, chance = (tp + tn) / n, ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n**2
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    expected = {
        "precision": precision, "recall": recall, "F1": 2 * precision * recall / (precision + recall),
        "IoU": tp / (tp + fp + fn), "OA": observed, "kappa": (observed - chance) / (1 - chance),
    }  # fmt: skip
    assert got["binary"] == pytest.approx({k: 100 * v for k, v in expected.items()}, abs=1e-9)
    assert got["from_to"] is None and got["per_date"] is None


def test_per_date_and_change_type_references_give_both_conventions(tmp_path, run, capsys):
    rng = np.random.default_rng(2)
    changed = rng.random((128, 128)) < 0.4
    first = np.where(changed, rng.integers(1, 7, (128, 128)), 0).astype(np.uint8)
    second = np.where(changed, rng.integers(1, 7, (128, 128)), 0).astype(np.uint8)
    label1 = _coarse_reference(tmp_path / "label1.tif", run, first)
    label2 = _coarse_reference(tmp_path / "label2.tif", run, second)
    codes = np.where(changed, 1 + 6 * (first.astype(int) - 1) + (second.astype(int) - 1), 0).astype(np.uint8)
    coded = _coarse_reference(tmp_path / "codes.tif", run, codes)
    assert main(["score", str(run.out_dir), str(label1), str(label2), "--json"]) == 0
    per_date = json.loads(capsys.readouterr().out)
    assert main(["score", str(run.out_dir), str(coded), "--json"]) == 0
    by_code = json.loads(capsys.readouterr().out)
    assert by_code.pop("kind") == "change-type" and per_date.pop("kind") == "per-date"
    assert by_code == per_date  # the same truth, coded two ways
    shape = _read(run.outputs["change_type"]).shape
    valid = _read(run.outputs["change_type"]) != 255
    confusion = SCDConfusion()
    confusion.update(
        *(_read(run.outputs[name])[valid] for name in ("before_class", "after_class")),
        *(a.repeat(2, 0).repeat(2, 1)[: shape[0], : shape[1]][valid] for a in (first, second)),
    )
    assert per_date["from_to"] == pytest.approx(confusion.scores()["from_to"])
    assert per_date["per_date"] == pytest.approx(confusion.scores()["per_date"])


def test_a_reference_elsewhere_is_refused(tmp_path, run):
    far = tmp_path / "far.tif"
    profile = {"driver": "GTiff", "width": 8, "height": 8, "count": 1, "dtype": "uint8", "crs": "EPSG:32633",
               "transform": from_origin(100000, 1000000, 1, 1)}  # fmt: skip
    with rasterio.open(far, "w", **profile) as dataset:
        dataset.write(np.ones((8, 8), np.uint8), 1)
    with pytest.raises(NoOverlapError):
        score_outputs(run.out_dir, [far])


def test_the_kind_can_be_forced_where_auto_would_read_change_codes(tmp_path, run, capsys):
    mask = np.zeros((128, 128), np.uint8)
    mask[40:80, 40:80] = 5  # 5 is also a change code: auto reads it as one
    reference = _coarse_reference(tmp_path / "five.tif", run, mask)
    assert score_outputs(run.out_dir, [reference]).kind == "change-type"
    forced = score_outputs(run.out_dir, [reference], kind="binary")
    assert forced.kind == "binary" and forced.from_to is None
