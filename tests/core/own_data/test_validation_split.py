"""Validation without a ``split`` column never sees what a training chip can reach: whole pairs from five
pairs on, else a stripe of each pair that no chip overlaps."""

from __future__ import annotations

import numpy as np

from scd_core.labels import IGNORE
from scd_core.own_data.chips import TrainingChips, split_regions
from scd_core.own_data.source import pairs_data
from scd_core.trainer.config import from_dict
from tests.core.own_data.conftest import pair_row, write_pairs


def _data(scene, tmp_path, ids: list[str]):
    pairs = write_pairs(tmp_path / "pairs.csv", [pair_row(scene, id, change="change.tif") for id in ids])
    config = from_dict({"model": "fc_siam_diff", "dataset": "pairs", "data": str(pairs), "crop": 64}, "test")
    return pairs_data(config, None)


def test_from_five_pairs_a_fifth_of_them_validate_whole_and_train_nowhere(scene, tmp_path):
    data = _data(scene, tmp_path, ["a", "b", "c", "d", "e", "f", "g"])
    training = {region.pair for region in data.train.regions}
    validation = {region.pair for region, *_ in data.val.tiles}
    assert len(validation) == 1 and len(training) == 6 and not training & validation
    assert all(region.label1.shape == (192, 192) for region in data.train.regions)  # whole pairs


def test_below_five_pairs_each_validates_on_its_last_fifth_of_rows_and_trains_on_the_rest(scene, tmp_path):
    data = _data(scene, tmp_path, ["a", "b"])
    assert [region.label1.shape for region in data.train.regions] == [(154, 192)] * 2  # the first 4/5 of rows
    assert {region.label1.shape for region, *_ in data.val.tiles} == {(38, 192)}


def test_chips_come_from_the_training_part_alone():
    rows = np.arange(100)[:, None].repeat(100, axis=1) + 1  # each pixel's label is its row, counted from 1
    images = np.zeros((2, 3, 100, 100), np.float32)
    train, val = split_regions("p", images, rows, rows, 0.2)
    assert train.label1.shape == (80, 100) and val.label1.shape == (20, 100)
    chips = TrainingChips([train], chips=64, size=48, change_share=0.5)
    reached = set()
    for seed in range(64):
        labels = chips[(seed, seed)]["label1"]
        reached |= set(labels[labels != IGNORE].unique().tolist())
    assert reached and max(reached) <= 80  # rows 81-100 are validation's
    assert len(reached) > 60  # the chips do roam the training part
