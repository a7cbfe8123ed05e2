"""Train a registered model and leave a run folder whose ``model.pt`` ``scd detect`` runs.

    python -m training.train CONFIG [--data ROOT] [--out RUN_DIR] [--set KEY=VALUE ...] [--resume] [--smoke]
    torchrun --nproc_per_node N -m training.train CONFIG ...     # the same, on N processes (DDP)

``CONFIG`` is a YAML file of :class:`training.config.TrainConfig` settings (defaults: the ASN paper's
SECOND recipe). ``--data ROOT`` trains on ``ROOT``'s train split and validates after every epoch on its
val split (else its test split) in both metric conventions; ``--out`` is the run folder
(:mod:`training.run_folder`); ``--resume`` continues a killed run from its ``last.pt`` and ends with the
weights an uninterrupted run would have (exactly so on the CPU, where algorithms are deterministic);
``--smoke`` runs the config at toy size in seconds (:func:`training.config.smoke`).

``model: asn_atl`` is ATL's second stage: it needs ``init_from`` (the trained ASN's model.pt), which it
keeps frozen while ψ1 and ψ2 train (:mod:`training.initialise`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from scd_core import checkpoint
from scd_core.cpu_memory import keep_freed_memory
from scd_core.errors import InvalidOptionError, ScdInputError
from scd_core.labels import LabelSet
from scd_core.models.base import SCDModel
from training import config as configs
from training.config import TrainConfig
from training.datasets import LAYOUTS, PairDataset, Split, training_splits
from training.distributed import Processes, setup, teardown
from training.initialise import build_model
from training.loop import Optimisation, score, train_epoch
from training.precision import Precision
from training.run_folder import RunFolder
from training.sampling import EpochSampler, ShardSampler
from training.state import deterministic, restore_training_state, training_state
from training.transforms import Augment


def make_optimiser(config: TrainConfig, parameters: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """SGD with momentum (ASN, LSAFNet), Adam (short runs such as the demo's) or AdamW (CdSC)."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            parameters, lr=config.learning_rate, momentum=config.momentum, weight_decay=config.weight_decay
        )
    optimiser = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return optimiser(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)


def make_schedule(
    config: TrainConfig, optimiser: torch.optim.Optimizer, steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """The 'poly' policy ``lr·(1 - step/total)^power`` stepped after every batch; ``linear`` is power 1."""
    power = config.poly_power if config.schedule == "poly" else 1.0
    return torch.optim.lr_scheduler.PolynomialLR(optimiser, total_iters=config.epochs * steps, power=power)


def class_entries(labels: LabelSet) -> list[dict[str, Any]]:
    """The checkpoint's ``classes``: the label set's, "no change" first."""
    return [{"index": c.index, "name": c.name, "colour": list(c.rgb)} for c in labels.classes]


def _loaders(
    config: TrainConfig, normalisation: dict[str, Any], processes: Processes
) -> tuple[DataLoader, EpochSampler, DataLoader | None, Split]:
    if config.data is None:
        raise InvalidOptionError("no data: give --data ROOT (ROOT/train, ROOT/val or ROOT/test) or data: in the config")
    train_split, val_split = training_splits(LAYOUTS[config.dataset], config.data, config.val_split)
    augment = Augment(config.crop, config.scale_range, config.flip, config.rotate)
    train_set = PairDataset(train_split, normalisation, augment)
    sampler = EpochSampler(
        len(train_set), config.batch_size, config.seed, processes.rank, processes.world_size, config.max_steps
    )
    if sampler.steps == 0:
        raise ScdInputError(f"{len(train_set)} pairs, fewer than one batch of {config.batch_size}", train_split.root)
    per_process = config.batch_size // processes.world_size
    loader = DataLoader(train_set, per_process, sampler=sampler, num_workers=config.workers, drop_last=True)
    val_loader = None
    if val_split is not None:
        val_set = PairDataset(val_split, normalisation)
        shards = ShardSampler(len(val_set), processes.rank, processes.world_size, config.val_limit)
        val_loader = DataLoader(val_set, 1, sampler=shards, num_workers=config.workers)
    return loader, sampler, val_loader, train_split


@dataclass
class Run:
    """Everything one training run holds while it runs."""

    config: TrainConfig
    model: SCDModel
    optimisation: Optimisation
    normalisation: dict[str, Any]
    labels: LabelSet
    loader: DataLoader
    sampler: EpochSampler
    val_loader: DataLoader | None
    folder: RunFolder
    step: int = 0

    def write_model(self, path: Path, epoch: int, scores: dict[str, Any] | None) -> None:
        """The deploy checkpoint of the weights as they are after ``epoch``."""
        extra: dict[str, Any] = {"training_data": self.config.training_data} if self.config.training_data else {}
        if self.config.gsd_m is not None:
            extra["gsd_m"] = self.config.gsd_m
        checkpoint.save(
            self.model,
            path,
            classes=class_entries(self.labels),
            normalisation=self.normalisation,
            tile_size=self.config.tile_size or self.config.crop,
            threshold=self.config.threshold,
            epochs=epoch,
            scores=scores,
            labels=self.labels.name,
            training=self.config.to_dict(),
            **extra,
        )

    def epoch(self, epoch: int, started: float) -> None:
        """Train epoch ``epoch``, validate, and write the run folder."""
        config, optimisation = self.config, self.optimisation
        self.sampler.set_epoch(epoch)
        result = train_epoch(optimisation, self.loader, self.sampler.steps, f"epoch {epoch}/{config.epochs}")
        self.step += result.steps
        record: dict[str, Any] = {
            "epoch": epoch,
            "step": self.step,
            "loss": result.loss,
            "lr": optimisation.optimiser.param_groups[0]["lr"],
            "images_per_s": result.images_per_second,
            "seconds": result.seconds,
        }
        if self.val_loader is not None:
            classes = self.labels.num_classes
            confusion = score(
                self.model, self.val_loader, classes, optimisation.precision, optimisation.processes, config.threshold
            )
            record["val"] = confusion.scores()
        self.folder.log(_summary(epoch, config, record) + f", {time.perf_counter() - started:.0f} s in all")
        optimiser, schedule, scaler = optimisation.optimiser, optimisation.schedule, optimisation.scaler
        state = training_state(self.model, optimiser, schedule, scaler, epoch, self.step, config.seed)
        self.folder.end_epoch(record, lambda path: self.write_model(path, epoch, record.get("val")), state)


def _summary(epoch: int, config: TrainConfig, record: dict[str, Any]) -> str:
    text = f"epoch {epoch}/{config.epochs}: loss {record['loss']:.4f} · {record['images_per_s']:.1f} img/s"
    for name, scores in (record.get("val") or {}).items():
        text += f" · {name} SeK {scores['SeK']:.2f} mIoU {scores['mIoU']:.2f}"
    return text + f" ({record['seconds']:.0f} s)"


def _start(config: TrainConfig, processes: Processes, echo: Callable[[str], None] | None) -> Run:
    torch.manual_seed(config.seed)
    labels = LAYOUTS[config.dataset].label_set
    model, initial = build_model(config.model, config.hparams, config.init_from, labels.num_classes)
    default = checkpoint.default_metadata(model.scd_hparams)["normalisation"]
    normalisation = config.normalisation or (initial.normalisation if initial else None) or default
    loader, sampler, val_loader, train_split = _loaders(config, normalisation, processes)
    precision = Precision.choose(processes.device, config.amp, config.channels_last)
    precision.prepare(model)
    optimiser = make_optimiser(config, [p for p in model.parameters() if p.requires_grad])
    folder = RunFolder(config.out, processes.main, echo)
    optimisation = Optimisation(
        model=DistributedDataParallel(model) if processes.distributed else model,
        loss_of=model.loss,
        optimiser=optimiser,
        schedule=make_schedule(config, optimiser, sampler.steps),
        precision=precision,
        scaler=precision.scaler(),
        processes=processes,
    )
    run = Run(
        config=config,
        model=model,
        optimisation=optimisation,
        normalisation=normalisation,
        labels=labels,
        loader=loader,
        sampler=sampler,
        val_loader=val_loader,
        folder=folder,
    )
    folder.log(
        f"{config.model} {model.scd_hparams} on {train_split.root} ({len(train_split.names)} pairs), "
        f"{processes.world_size} process(es), {precision.describe()}"
    )
    return run


def train(config: TrainConfig, resume: bool = False, echo: Callable[[str], None] | None = None) -> Path:
    """Run the training described by ``config``; returns the run's ``model.pt``."""
    processes = setup(config.device)
    exact = config.deterministic if config.deterministic is not None else processes.device.type == "cpu"
    try:
        with deterministic(exact):
            run = _start(config, processes, echo)
            state = run.folder.open(config.to_dict(), resume)
            done = 0
            if state is not None:
                optimisation = run.optimisation
                done, run.step = restore_training_state(
                    state, run.model, optimisation.optimiser, optimisation.schedule, optimisation.scaler
                )
            started = time.perf_counter()
            for epoch in range(done + 1, config.epochs + 1):
                run.epoch(epoch, started)
            return run.folder.model
    finally:
        teardown(processes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.splitlines()[0])
    parser.add_argument("config", help="YAML file of training.config.TrainConfig settings")
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
