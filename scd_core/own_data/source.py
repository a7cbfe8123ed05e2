"""``dataset: pairs``: an analyst's PAIRS.csv as the trainer's :class:`~scd_core.trainer.data.TrainingData`.

The steps, each in its module: the table (:mod:`.table`), the class table (:mod:`.classes`), each
pair's imagery on BEFORE's grid (:mod:`.imagery`) and its labels (:mod:`.labels`), then the
normalisation and the chips (:mod:`.chips`).

**Normalisation.** A fresh model gets, per band, the mean and standard deviation of the training pairs'
scaled pixels, both dates pooled, on top of the engine's ``auto`` scaling (8-bit imagery as it is,
anything else stretched from its 2nd-98th percentiles onto 0-255, one stretch for both dates of a
pair). The checkpoint stores all of it, so ``scd detect`` repeats it on new imagery. A fine-tuned
model (``--init``) keeps its checkpoint's bands and normalisation: its weights learned on them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import geopandas
import numpy as np
import rasterio

from scd_core.errors import InvalidOptionError, ScdInputError
from scd_core.labels import IGNORE, LabelSet
from scd_core.own_data import classes
from scd_core.own_data.chips import Region, TrainingChips, ValidationTiles, split_regions
from scd_core.own_data.imagery import read_pair
from scd_core.own_data.labels import UNLABELLED, LabelOptions, read_labels
from scd_core.own_data.table import TrainingPair, read_training_pairs
from scd_core.trainer.config import TrainConfig
from scd_core.trainer.data import TrainingData
from scd_core.trainer.initialise import Initial

#: Whole pairs go to validation when there are at least this many and no ``split`` column.
WHOLE_PAIRS = 5
SCALING = {"value_range": [0.0, 255.0], "scale": "auto"}


@dataclass(frozen=True)
class PairsOptions:
    """``config.pairs``: how labels are read and chips drawn (``scd train``'s options)."""

    classes: str | None = None  #: ``--classes FILE.yaml``
    change_field: str | None = None
    from_field: str | None = None
    to_field: str | None = None
    class_field: str | None = None
    unlabelled: str = "ignore"  #: ``ignore`` or ``no-change``: what lies outside every polygon
    chips: int = 512  #: training chips an epoch
    change_share: float = 0.5  #: share of chips centred on a changed pixel
    val_fraction: float = 0.2  #: of the pairs, or of each pair's rows, held out for validation

    @classmethod
    def of(cls, values: dict[str, Any]) -> PairsOptions:
        """The options of a config's ``pairs`` mapping, checked."""
        known = {f.name for f in fields(cls)}
        if unknown := sorted(set(values) - known):
            raise InvalidOptionError(f"pairs: unknown settings {unknown}; known: {sorted(known)}")
        options = cls(**values)
        if options.unlabelled not in UNLABELLED:
            raise InvalidOptionError(f"--unlabelled must be one of {', '.join(UNLABELLED)}, got {options.unlabelled!r}")
        if not 0 < options.val_fraction < 1 or not 0 <= options.change_share <= 1 or options.chips < 1:
            raise InvalidOptionError("pairs: val_fraction in (0, 1), change_share in [0, 1] and chips ≥ 1")
        return options

    def labels(self) -> LabelOptions:
        """What :mod:`.labels` needs of them."""
        return LabelOptions(self.change_field, self.from_field, self.to_field, self.class_field, self.unlabelled)


def _vector_values(pair: TrainingPair, names: list[str]) -> list[Any]:
    values: list[Any] = []
    for path in pair.labels:
        try:
            frame = geopandas.read_file(path, ignore_geometry=True)
        except Exception as error:  # pyogrio raises its own types for every kind of unreadable file
            raise ScdInputError(f"pair {pair.id!r}: cannot read the label layer ({error})", path) from None
        for name in names:
            if name not in frame.columns:
                raise ScdInputError(
                    f"pair {pair.id!r}: the label layer has no field {name!r} (its fields: {', '.join(frame.columns)})",
                    path,
                )
            values.extend(v for v in frame[name].tolist() if v is not None and v == v)
    return values


def _raster_max(path: str) -> int:
    with rasterio.open(path) as dataset:
        return int(dataset.read(1, masked=True).max() or 0)


def class_table(pairs: list[TrainingPair], options: PairsOptions) -> tuple[LabelSet, str]:
    """The run's class table and task (see :mod:`.classes` for the order of the sources)."""
    vector_fields = [f for f in (options.from_field, options.to_field) if f]
    semantic = [p for p in pairs if p.form in ("label1", "fromto", "labels1") or (p.form == "labels" and vector_fields)]
    if not semantic:
        return classes.CHANGE_TABLE, "change"
    if options.classes:
        return classes.from_yaml(options.classes), "semantic"
    for pair in semantic:
        if pair.form in ("label1", "fromto") and (found := classes.from_raster(pair.labels[0])) is not None:
            return found, "semantic"
    if any(p.form == "fromto" for p in semantic):
        raise InvalidOptionError(
            "from-to codes need the class table: give --classes FILE.yaml (or name the raster's categories)"
        )
    values = [
        v
        for p in semantic
        if p.form in ("labels", "labels1")
        for v in _vector_values(p, vector_fields if p.form == "labels" else [options.class_field or ""])
    ]
    if any(isinstance(v, str) and not v.strip().isdigit() for v in values):
        names = list(dict.fromkeys(str(v).strip() for v in values))
        return classes.table("classes", names, [None] * len(names), "labels"), "semantic"
    highest = max(
        [int(v) for v in values] + [_raster_max(p) for pair in semantic if pair.form == "label1" for p in pair.labels]
        or [1]
    )
    return classes.numbered(max(highest, 1)), "semantic"


@dataclass
class LoadedPair:
    """A pair in memory: scaled imagery, validity, labels, and its ground pixel size."""

    pair: TrainingPair
    images: np.ndarray
    valid: np.ndarray
    label1: np.ndarray
    label2: np.ndarray
    gsd_m: float | None


def _standardise(loaded: list[LoadedPair], normalisation: dict[str, Any]) -> None:
    mean = np.asarray(normalisation["mean"], np.float32)[None, :, None, None]
    std = np.asarray(normalisation["std"], np.float32)[None, :, None, None]
    for item in loaded:
        item.images -= mean
        item.images /= std
        item.images[:, :, ~item.valid] = 0.0


def band_statistics(loaded: list[LoadedPair]) -> tuple[list[float], list[float]]:
    """Per-band mean and standard deviation of the valid pixels of both dates of ``loaded``, pooled."""
    channels = loaded[0].images.shape[1]
    total, squares, count = np.zeros(channels), np.zeros(channels), 0
    for item in loaded:
        values = item.images[:, :, item.valid].astype(np.float64)  # 2×C×n
        total += values.sum(axis=(0, 2))
        squares += (values**2).sum(axis=(0, 2))
        count += 2 * values.shape[2]
    mean = total / max(count, 1)
    std = np.sqrt(np.maximum(squares / max(count, 1) - mean**2, 0.0))
    return mean.tolist(), np.where(std > 1e-6, std, 1.0).tolist()


def _regions(loaded: list[LoadedPair], options: PairsOptions, seed: int) -> tuple[list[Region], list[Region]]:
    """Training and validation regions (see :mod:`.chips`)."""

    def whole(item: LoadedPair) -> Region:
        return Region(item.pair.id, item.images, item.label1, item.label2)

    if any(item.pair.split for item in loaded):
        return [whole(i) for i in loaded if i.pair.split != "val"], [whole(i) for i in loaded if i.pair.split == "val"]
    if len(loaded) >= WHOLE_PAIRS:
        count = max(1, round(len(loaded) * options.val_fraction))
        held = set(np.random.default_rng(seed).permutation(len(loaded))[:count].tolist())
        return [whole(i) for n, i in enumerate(loaded) if n not in held], [
            whole(i) for n, i in enumerate(loaded) if n in held
        ]
    parts = [split_regions(i.pair.id, i.images, i.label1, i.label2, options.val_fraction) for i in loaded]
    return [train for train, _ in parts], [val for _, val in parts]


def pairs_data(config: TrainConfig, initial: Initial | None) -> TrainingData:
    """The PAIRS.csv of ``config.data`` as training data (see the module docstring)."""
    if config.data is None:
        raise InvalidOptionError("no PAIRS.csv given")
    options = PairsOptions.of(config.pairs)
    pairs = read_training_pairs(config.data)
    table, task = class_table(pairs, options)
    bands = initial.bands if initial is not None else None
    scaling = initial.normalisation if initial is not None and initial.normalisation else SCALING
    loaded = []
    for pair in pairs:
        imagery, bands = read_pair(pair, bands, scaling)
        label1, label2 = read_labels(pair, imagery.grid, imagery.valid, table, options.labels())
        loaded.append(LoadedPair(pair, imagery.images, imagery.valid, label1, label2, imagery.gsd_m))
    assert bands is not None  # read_pair names the bands it read
    if initial is not None and initial.normalisation:
        normalisation = dict(initial.normalisation)
    else:
        mean, std = band_statistics([i for i in loaded if i.pair.split != "val"])
        normalisation = {**SCALING, "mean": mean, "std": std}
    _standardise(loaded, normalisation)
    train, val = _regions(loaded, options, config.seed)
    if not any((r.label1 != IGNORE).any() for r in train):
        raise ScdInputError("no labelled pixel left for training once validation is held out", config.data)
    gsds = [i.gsd_m for i in loaded if i.gsd_m is not None]
    metadata: dict[str, Any] = {
        "training_data": {"kind": "own", "description": f"{len(pairs)} pairs of {Path(config.data).name}"}
    }
    if gsds:
        metadata["gsd_m"] = (
            round(min(gsds), 3) if max(gsds) < 1.5 * min(gsds) else [round(min(gsds), 3), round(max(gsds), 3)]
        )
    return TrainingData(
        train=TrainingChips(train, options.chips, config.crop, options.change_share),
        val=ValidationTiles(val) or None,
        labels=table,
        normalisation=normalisation,
        bands=list(bands),
        description=f"{config.data} ({len(train)} training and {len(val)} validation regions of {len(pairs)} pairs)",
        task=task,
        metadata=metadata,
    )
