"""What a data source hands the trainer: the pairs to learn from, to validate on, and what they mean.

The trainer knows no folder layout and no file format. ``training/`` turns SECOND's and Landsat-SCD's
folders into a :class:`TrainingData`, :mod:`scd_core.own_data` an analyst's georeferenced rasters and
labels; both give samples of the same shape, so one loop trains them all:

* ``image1``, ``image2``: C×H×W float32, normalised as :attr:`TrainingData.normalisation` says (the
  checkpoint stores it, so ``scd detect`` feeds the model what it learned on);
* ``label1``, ``label2``: H×W int64, 0 no change, 1..N a class, :data:`~scd_core.labels.CHANGED` changed
  between unlabelled classes (binary labels), :data:`~scd_core.labels.IGNORE` not trained on.

Training samples are keyed by ``(index, seed)`` (:class:`~scd_core.trainer.sampling.EpochSampler`), so
a sample is a function of the run's seed alone; validation samples by their index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch.utils.data import Dataset

from scd_core.labels import LabelSet


@dataclass(frozen=True)
class TrainingData:
    """A run's data: its two datasets and what the checkpoint must say of them."""

    train: Dataset
    val: Dataset | None
    labels: LabelSet  #: the class table, "no change" first (for ``task`` change: no change, change)
    normalisation: dict[str, Any]  #: the checkpoint's ``normalisation``
    bands: list[str]  #: the checkpoint's ``bands``, in the order the samples hold them
    description: str  #: where the pairs come from, for the log
    task: str = "semantic"  #: the checkpoint's task (:data:`scd_core.checkpoint.TASKS`)
    #: further checkpoint metadata the data knows (``gsd_m``, ``training_data``)
    metadata: dict[str, Any] = field(default_factory=dict)
