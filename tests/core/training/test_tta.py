"""Test-time augmentation and ``python -m training.evaluate``: the passes of each column group, how
they merge, and prediction folders that ``scd evaluate`` scores identically."""

from __future__ import annotations

import json

import pytest
import torch

from scd_core import checkpoint
from scd_core.models import build
from scd_core.models.inference import class_maps, forward_padded
from training.tta import PASSES, SCALES, _one_pass, merged_outputs, predict


def _tiny(name: str = "hrscd_str4") -> torch.nn.Module:
    torch.manual_seed(0)
    return build(name, width=2).eval()


def _pair(size: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(1, 3, size, size, generator=generator), torch.rand(1, 3, size, size, generator=generator)


def test_the_groups_are_the_papers_six_scales_with_and_without_horizontal_flips():
    assert SCALES == (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
    assert [len(PASSES[g]) for g in ("plain", "ms", "ms_flip")] == [1, 6, 12]
    model, sizes = _tiny(), []
    model.register_forward_hook(lambda _m, inputs, _o: sizes.append(tuple(inputs[0].shape[-2:])))
    x1, x2 = _pair(64)
    with torch.no_grad():
        merged_outputs(model, x1, x2, "ms_flip")
    # each scaled pair is padded to a multiple of 32 before the model: 32, 48→64, 64, 80→96, 96, 112→128
    assert sorted(set(sizes)) == [(32, 32), (64, 64), (96, 96), (128, 128)] and len(sizes) == 12


def test_plain_is_eq_1_on_one_pass():
    model, (x1, x2) = _tiny(), _pair()
    with torch.no_grad():
        expected = class_maps(forward_padded(model, x1, x2), 0.5)
    for got, want in zip(predict(model, x1, x2, "plain", 0.5), expected, strict=True):
        assert torch.equal(got, want)


def test_passes_are_merged_by_mean_probability_before_the_decision():
    model, (x1, x2) = _tiny(), _pair()
    with torch.no_grad():
        merged = merged_outputs(model, x1, x2, "ms")
        direct = forward_padded(model, x1, x2)
    mean_change = torch.sigmoid(merged["change"])
    assert merged["sem1"].exp().sum(1).sub(1).abs().max() < 1e-5  # log of mean probabilities
    assert float(mean_change.min()) >= 0 and float(mean_change.max()) <= 1
    # the 1.0 pass is one of six: the merged probability is not the single pass's
    assert not torch.allclose(mean_change, torch.sigmoid(direct["change"]))


def test_hrscd_str1_takes_its_change_from_the_merged_land_cover_as_eq_2():
    model, (x1, x2) = _tiny("hrscd_str1"), _pair()
    before, after = predict(model, x1, x2, "ms_flip", 0.5)
    merged = merged_outputs(model, x1, x2, "ms_flip")
    differ = merged["sem1"].argmax(1) != merged["sem2"].argmax(1)
    assert torch.equal(before != 0, differ) and not ((before == after) & (before != 0)).any()


def test_hrscd_str2_merges_its_joint_probabilities_and_reads_their_arg_max():
    model, (x1, x2) = _tiny("hrscd_str2"), _pair()
    before, after = predict(model, x1, x2, "ms_flip", 0.5)
    with torch.no_grad():
        joint = sum(_one_pass(model, x1, x2, scale, flipped)["change_type"] for scale, flipped in PASSES["ms_flip"])
    best = joint.argmax(1)  # the mean joint probability's arg-max: no change, or one from-to pair
    assert torch.equal(before.long(), torch.where(best > 0, (best - 1) // 6 + 1, 0))
    assert torch.equal(after.long(), torch.where(best > 0, (best - 1) % 6 + 1, 0))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    return checkpoint.save(build("fc_siam_diff", width=4), path, tile_size=64, threshold=0.45)


def test_predictions_are_scored_by_scd_evaluate_as_training_evaluate_scores_them(
    saved, small_second, run_module, tmp_path
):
    predictions = tmp_path / "pred"
    args = ["--checkpoint", saved, "--data", small_second, "--tta", "ms", "--json"]
    ours = run_module("training.evaluate", *args, "--predictions", predictions)
    assert ours.returncode == 0, ours.stderr[-2000:]
    ours_scores = json.loads(ours.stdout)
    assert ours_scores["pairs"] == 3 and ours_scores["tta"] == "ms" and ours_scores["threshold"] == 0.45
    assert sorted(p.name for p in (predictions / "label1").iterdir()) == sorted(
        p.name for p in (small_second / "val" / "label1").iterdir()
    )
    theirs = run_module("scd_core", "evaluate", predictions, small_second / "val", "--json")
    assert theirs.returncode == 0, theirs.stderr[-2000:]
    theirs_scores = json.loads(theirs.stdout)
    for key in ("per_date", "from_to", "categorical"):
        assert ours_scores[key] == theirs_scores[key]
    again = run_module("training.evaluate", *args, "--predictions", predictions)
    assert again.returncode == 2 and "--overwrite" in again.stderr
