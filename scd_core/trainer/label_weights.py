"""ATL's categorical weights counted over the whole training set (``hparams.weights: dataset``).

The trainer counts, once before the first epoch, the pixels of each land-cover category over the
changed pixels of both dates and the pixels of no change and change, in the training samples as the
run will see them (each index once, transformed with a seed of the run's), and turns the counts into
inverse-frequency weights (:func:`scd_core.models.losses.inverse_frequency`). They become the model's
``semantic_weights`` and ``change_weights`` hyper-parameters, so the log and the checkpoint say which
weights trained it. Why the data set's counts rather than each batch's: :mod:`scd_core.models.atl`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from scd_core.labels import IGNORE
from scd_core.models.losses import change_targets, class_counts, inverse_frequency, semantic_targets


def dataset_weights(dataset: Dataset, num_classes: int, seed: int) -> dict[str, Any]:
    """``semantic_weights`` (N) and ``change_weights`` (no change, change) of ``dataset``'s labels."""
    semantic, change = torch.zeros(num_classes), torch.zeros(2)
    for index in range(len(dataset)):  # type: ignore[arg-type]
        sample = dataset[(index, seed + index)]
        for label in (sample["label1"], sample["label2"]):
            semantic += class_counts(semantic_targets(label), num_classes)
        target, valid = change_targets(sample["label1"])
        change += class_counts(target.long().masked_fill(~valid, IGNORE), 2)
    return {
        "semantic_weights": [round(float(w), 6) for w in inverse_frequency(semantic)],
        "change_weights": [round(float(w), 6) for w in inverse_frequency(change)],
    }
