"""The change head reaches the paper's τ = 0.5: a bounded CPU training on synthetic scenes predicts
change at 0.5 and scores a from_to SeK above that of predicting no change anywhere.

Before the decoder's last block gave the classifiers signed features (scd_core/models/decoders.py),
this very run kept P(change) below 0.5 everywhere: SeK at τ = 0.5 was exactly 0 in every epoch.
At width 4 the model had too few channels for the land-cover heads in this budget: the last epoch's
SeK wandered between −3 and +9 from one machine to another (−0.5 on CI's); at width 8 it rises to
about 20 in the last epochs.
"""

from __future__ import annotations

import json

import pytest
import torch

from scd_core import checkpoint, synth
from scd_core.metrics import SCDConfusion
from scd_core.trainer import config as configs
from training.datasets import LAYOUTS, PairDataset, validation_split
from training.train import train

#: The budget: 12 epochs of 8 Adam steps on batches of 8 crops of 64² (768 crops), HRSCD.str4 at width 8.
BUDGET = {
    "model": "hrscd_str4",
    "hparams": {"width": 8},
    "epochs": 12,
    "max_steps": 8,
    "batch_size": 8,
    "optimizer": "adam",
    "learning_rate": 0.003,
    "crop": 64,
    "scale_range": [0.75, 1.5],
    "val_limit": 8,
}


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    synth.write_second(root / "train", n_pairs=64, size=128, seed=1)
    synth.write_second(root / "val", n_pairs=8, size=128, seed=2)
    return root


def test_a_bounded_training_predicts_change_at_tau_one_half(scenes, tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        path = train(
            configs.from_dict({**BUDGET, "data": str(scenes), "out": str(tmp_path / "run")}), echo=lambda _: None
        )
    finally:
        torch.set_num_threads(threads)
    model, metadata = checkpoint.load(path)
    assert metadata["threshold"] == 0.5

    split = validation_split(LAYOUTS["second"], scenes)
    dataset = PairDataset(split, dict(metadata["normalisation"]))
    probabilities, truth = [], []
    with torch.no_grad():
        for index in range(8):
            sample = dataset[index]
            outputs = model(sample["image1"][None], sample["image2"][None])
            probabilities.append(torch.sigmoid(outputs["change"][0, 0]))
            truth.append(sample)
    changed = torch.stack(probabilities) >= 0.5
    assert changed.any(), f"P(change) at most {float(torch.stack(probabilities).max()):.3f}"

    nothing = SCDConfusion()
    for sample in truth:
        zeros = torch.zeros_like(sample["label1"])
        nothing.update(zeros, zeros, sample["label1"], sample["label2"])
    validated = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])["val"]
    assert validated["from_to"]["SeK"] > nothing.scores()["from_to"]["SeK"] == 0.0
    assert validated["from_to"]["IoU_c"] > 10.0
