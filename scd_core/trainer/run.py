"""A training run from start to finish: the one trainer behind ``scd train`` and ``python -m training.train``.

``train(config, source)`` builds the model (:mod:`.initialise`: fresh, pretrained encoder, fine-tuned or
ATL's frozen ASN), asks ``source`` for the run's :class:`~scd_core.trainer.data.TrainingData`, trains
epoch by epoch with the plain loop (:mod:`.loop`), validates after every epoch, and writes the run
folder (:mod:`.run_folder`) whose ``model.pt`` ``scd detect`` runs. ``resume`` continues a killed run
from its ``last.pt`` and ends with the weights an uninterrupted run would have (exactly so on the CPU).

Progress goes to ``echo`` as one line per message, and, when ``on_epoch`` is given, as each epoch's record
(``scd train --progress json`` turns it into ``epoch`` events, :mod:`scd_core.events`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from scd_core import checkpoint
from scd_core.errors import InvalidOptionError, ScdInputError
from scd_core.models.base import SCDModel
from scd_core.trainer.calibration import best_threshold
from scd_core.trainer.config import TrainConfig
from scd_core.trainer.data import TrainingData
from scd_core.trainer.distributed import Processes, setup, teardown
from scd_core.trainer.initialise import Initial, build_model, read_initial
from scd_core.trainer.label_weights import dataset_weights
from scd_core.trainer.loading import default_workers, make_loader
from scd_core.trainer.loop import Optimisation, score, train_epoch
from scd_core.trainer.precision import Precision
from scd_core.trainer.run_folder import RunFolder
from scd_core.trainer.sampling import EpochSampler, ShardSampler
from scd_core.trainer.state import deterministic, restore_training_state, training_state

#: A data source: the run's data from its config and the checkpoint it starts from (if any).
DataSource = Callable[[TrainConfig, Initial | None], TrainingData]
#: Models whose loss has no change term: change-only labels teach them nothing.
NO_CHANGE_TERM = ("hrscd_str1", "hrscd_str2")


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


def _loaders(
    config: TrainConfig, data: TrainingData, processes: Processes
) -> tuple[DataLoader, EpochSampler, DataLoader | None]:
    size = len(data.train)  # type: ignore[arg-type]  # every source's datasets have a length
    sampler = EpochSampler(size, config.batch_size, config.seed, processes.rank, processes.world_size, config.max_steps)
    if sampler.steps == 0:
        raise ScdInputError(f"{size} training samples, fewer than one batch of {config.batch_size}", data.description)
    per_process = config.batch_size // processes.world_size
    workers = default_workers(processes.device) if config.workers is None else config.workers
    loader = make_loader(data.train, per_process, sampler, workers, processes.device, drop_last=True)
    val_loader = None
    if data.val is not None:
        shards = ShardSampler(len(data.val), processes.rank, processes.world_size, config.val_limit)  # type: ignore[arg-type]
        val_loader = make_loader(data.val, 1, shards, workers, processes.device)
    return loader, sampler, val_loader


@dataclass
class Run:
    """Everything one training run holds while it runs."""

    config: TrainConfig
    data: TrainingData
    model: SCDModel
    optimisation: Optimisation
    loader: DataLoader
    sampler: EpochSampler
    val_loader: DataLoader | None
    folder: RunFolder
    on_epoch: Callable[[dict[str, Any]], None] | None = None
    step: int = 0
    threshold: float | None = None  #: τ chosen on the validation split; None: the config's

    def calibrate(self) -> None:
        """Choose τ on the validation split and rewrite model.pt with it (see :mod:`.calibration`)."""
        if self.val_loader is None:
            self.folder.log("no validation split: τ stays at the config's")
            return
        optimisation = self.optimisation
        self.threshold, f1 = best_threshold(self.model, self.val_loader, optimisation.precision, optimisation.processes)
        self.folder.log(f"τ = {self.threshold:.3f} gives the best validation F1 of change, {100 * f1:.2f}")
        if self.folder.main:
            record = self.folder.records[-1] if self.folder.records else {}
            self.write_model(self.folder.model, int(record.get("epoch", self.config.epochs)), record.get("val"))
            self.folder.write_log()

    def write_model(self, path: Path, epoch: int, scores: dict[str, Any] | None) -> None:
        """The deploy checkpoint of the weights as they are after ``epoch``."""
        config, data = self.config, self.data
        extra: dict[str, Any] = {**data.metadata}
        if config.training_data:
            extra["training_data"] = config.training_data
        if config.gsd_m is not None:
            extra["gsd_m"] = config.gsd_m
        checkpoint.save(
            self.model,
            path,
            classes=[{"index": c.index, "name": c.name, "colour": list(c.rgb)} for c in data.labels.classes],
            bands=data.bands,
            normalisation=data.normalisation,
            tile_size=config.tile_size or config.crop,
            threshold=config.threshold if self.threshold is None else self.threshold,
            epochs=epoch,
            scores=scores,
            labels=data.labels.name,
            training=config.to_dict(),
            **({"task": data.task} if data.task != "semantic" else {}),
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
            classes = self.data.labels.num_classes
            validation = score(
                self.model, self.val_loader, classes, optimisation.precision, optimisation.processes, config.threshold
            )
            record["val"] = validation.scores(self.data.task)
        summary = _summary(epoch, config, record) + f", {time.perf_counter() - started:.0f} s in all"
        self.folder.log(summary, echo=self.on_epoch is None)  # with on_epoch, the record tells it
        optimiser, schedule, scaler = optimisation.optimiser, optimisation.schedule, optimisation.scaler
        state = training_state(self.model, optimiser, schedule, scaler, epoch, self.step, config.seed)
        self.folder.end_epoch(record, lambda path: self.write_model(path, epoch, record.get("val")), state, config.keep)
        if self.on_epoch is not None and self.folder.main:
            self.on_epoch(record)


def _summary(epoch: int, config: TrainConfig, record: dict[str, Any]) -> str:
    text = f"epoch {epoch}/{config.epochs}: loss {record['loss']:.4f} · {record['images_per_s']:.1f} img/s"
    for name, scores in (record.get("val") or {}).items():
        text += f" · {name} F1 {scores['F1']:.2f}" if name == "change" else f" · {name} SeK {scores['SeK']:.2f}"
    return text + f" ({record['seconds']:.0f} s)"


def _model(config: TrainConfig, data: TrainingData, initial: Initial | None) -> tuple[SCDModel, str]:
    """The run's model and how its weights began: fresh, pretrained encoder, fine-tuned or ATL's ASN."""
    if data.task == "change" and config.model in NO_CHANGE_TERM:
        raise InvalidOptionError(f"{config.model} has no change term to learn change-only labels from")
    classes = data.labels.class_names()
    hparams = config.hparams
    if hparams.get("weights") == "dataset" and hparams.get("semantic_weights") is None:
        hparams = {**hparams, **dataset_weights(data.train, len(classes) - 1, config.seed)}
    model, how = build_model(config.model, hparams, initial, classes, len(data.bands), config.init_from)
    if initial is None and config.encoder_weights:
        from scd_core.models.pretrained import load_encoder_weights  # only runs that ask read weights files

        how = load_encoder_weights(model, config.encoder_weights, data.bands)
    return model, how


def _start(
    config: TrainConfig, source: DataSource, processes: Processes, echo: Callable[[str], None] | None, bar: bool
) -> Run:
    torch.manual_seed(config.seed)
    initial = read_initial(config.init_from) if config.init_from else None
    data = source(config, initial)
    model, how = _model(config, data, initial)
    loader, sampler, val_loader = _loaders(config, data, processes)
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
        bar=bar,
    )
    run = Run(config, data, model, optimisation, loader, sampler, val_loader, folder)
    folder.log(
        f"{config.model} {model.scd_hparams} on {data.description}, {how}, "
        f"{processes.world_size} process(es) loading with {loader.num_workers} worker(s) each, {precision.describe()}"
    )
    return run


def train(
    config: TrainConfig,
    source: DataSource,
    resume: bool = False,
    echo: Callable[[str], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    bar: bool = True,
) -> Path:
    """Run the training described by ``config`` on ``source``'s data; returns the run's ``model.pt``."""
    processes = setup(config.device)
    exact = config.deterministic if config.deterministic is not None else processes.device.type == "cpu"
    try:
        with deterministic(exact):
            run = _start(config, source, processes, echo, bar)
            run.on_epoch = on_epoch
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
            if config.calibrate_threshold:
                run.calibrate()
            return run.folder.model
    finally:
        teardown(processes)
