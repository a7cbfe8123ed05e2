"""Train a registered model and leave a run folder whose ``model.pt`` ``scd detect`` runs.

    python -m training.train CONFIG [--data ROOT] [--out RUN_DIR] [--set KEY=VALUE ...] [--resume] [--smoke]
    torchrun --nproc_per_node N -m training.train CONFIG ...     # the same, on N processes (DDP)

``CONFIG`` is a YAML file of :class:`scd_core.trainer.config.TrainConfig` settings (defaults: the ASN paper's
SECOND recipe). ``--data ROOT`` trains on ``ROOT``'s train split and validates after every epoch on its
val split (else its test split) in both metric conventions; ``--out`` is the run folder
(:mod:`scd_core.trainer.run_folder`); ``--resume`` continues a killed run from its ``last.pt`` and ends with the
weights an uninterrupted run would have (exactly so on the CPU, where algorithms are deterministic);
``--smoke`` runs the config at toy size in seconds (:func:`scd_core.trainer.config.smoke`).

``model: asn_atl`` is ATL's second stage: it needs ``init_from`` (the trained ASN's model.pt), which it
keeps frozen while ψ1 and ψ2 train (:mod:`scd_core.trainer.initialise`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from scd_core import checkpoint
from scd_core.cpu_memory import keep_freed_memory
from scd_core.errors import InvalidOptionError, ScdInputError
from scd_core.trainer import config as configs
from scd_core.trainer import run
from scd_core.trainer.config import TrainConfig
from scd_core.trainer.data import TrainingData
from scd_core.trainer.initialise import Initial
from scd_core.trainer.transforms import Augment
from training.datasets import LAYOUTS, PairDataset, training_splits


def folder_data(config: TrainConfig, initial: Initial | None) -> TrainingData:
    """The pairs of a SECOND or Landsat-SCD folder (``config.dataset``): train, and val (else test).

    Normalisation is the config's, else the checkpoint's the run starts from, else 8-bit values brought
    to 0..1: the papers' RGB images.
    """
    if config.data is None:
        raise InvalidOptionError("no data: give --data ROOT (ROOT/train, ROOT/val or ROOT/test) or data: in the config")
    if config.dataset not in LAYOUTS:
        raise InvalidOptionError(f"dataset {config.dataset!r} is not a folder layout: use scd train PAIRS.csv")
    layout = LAYOUTS[config.dataset]
    train_split, val_split = training_splits(layout, config.data, config.val_split)
    default = checkpoint.default_metadata({"in_channels": 3})
    normalisation = config.normalisation or (initial.normalisation if initial else None) or default["normalisation"]
    augment = Augment(config.crop, config.scale_range, config.flip, config.rotate)
    return TrainingData(
        train=PairDataset(train_split, normalisation, augment),
        val=PairDataset(val_split, normalisation) if val_split is not None else None,
        labels=layout.label_set,
        normalisation=normalisation,
        bands=default["bands"],
        description=f"{train_split.root} ({len(train_split.names)} pairs)",
    )


def train(config: TrainConfig, resume: bool = False, echo: Callable[[str], None] | None = None) -> Path:
    """Run the training described by ``config`` on its folder; returns the run's ``model.pt``."""
    return run.train(config, folder_data, resume, echo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.splitlines()[0])
    parser.add_argument("config", help="YAML file of scd_core.trainer.config.TrainConfig settings")
    parser.add_argument("--data", help="dataset root: ROOT/train, and ROOT/val or ROOT/test (SECOND layout)")
    parser.add_argument("--out", help="run folder (config.yaml, log.txt, metrics.jsonl, last.pt, model.pt)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    parser.add_argument("--smoke", action="store_true", help="the same run at toy size, in seconds")
    args = parser.parse_args(argv)
    keep_freed_memory()  # this process is ours: let the model reuse its memory (scd_core.cpu_memory)
    try:
        settings = {key: value for key, value in (("data", args.data), ("out", args.out)) if value is not None}
        config = configs.load(args.config, args.set, **settings)
        if args.smoke:
            config = configs.smoke(config)
        path = train(config, resume=args.resume)
    except ScdInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if os.environ.get("RANK", "0") == "0":
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
