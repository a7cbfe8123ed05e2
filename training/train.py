"""Train a registered model on SECOND-layout folders and save the checkpoint ``scd detect`` runs.

    python -m training.train training/configs/demo.yaml [--set key=value ...]

The recipe is the ASN paper's (§VI-A): SGD with momentum 0.9 and weight decay 1e-4, learning rate
0.005 decayed by the 'poly' policy with power 0.9, batch size 4, random flips and scales in
[0.5, 2]; every value can be changed in the YAML config or with ``--set`` (``optimizer: adam`` for
short runs such as the demo model's). After each epoch the model
is scored on ``val_root`` (when given) in both conventions of :mod:`scd_core.metrics`; the checkpoint
keeps the last epoch's weights and its scores, and the threshold τ: the configured one, or with
``calibrate_threshold`` the one of :data:`CALIBRATION_GRID` that scores the best SeK on ``val_root``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import yaml
from torch.utils.data import DataLoader

from scd_core import checkpoint
from scd_core.cpu_memory import keep_freed_memory
from scd_core.devices import resolve_device
from scd_core.metrics import SCDConfusion
from scd_core.models import build
from scd_core.models.inference import class_maps, forward_padded
from training.datasets import SecondDataset
from training.transforms import Augment


@dataclass
class TrainConfig:
    """Everything a training run needs; defaults are the ASN paper's SECOND settings."""

    model: str
    train_root: str
    output: str
    hparams: dict[str, Any] = field(default_factory=dict)
    val_root: str | None = None
    epochs: int = 50
    batch_size: int = 4
    optimizer: str = "sgd"
    learning_rate: float = 0.005
    momentum: float = 0.9
    weight_decay: float = 1e-4
    poly_power: float = 0.9
    crop: int = 512
    #: tile edge ``scd detect`` uses by default (the checkpoint's ``tile_size``); None: the crop
    tile_size: int | None = None
    scale_range: tuple[float, float] = (0.5, 2.0)
    threshold: float = 0.5
    #: pick the threshold τ that maximises SeK (from_to) on ``val_root`` after training, instead of ``threshold``
    calibrate_threshold: bool = False
    seed: int = 0
    workers: int = 0
    device: str = "auto"
    normalisation: dict[str, Any] | None = None

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
        """Read a YAML config; ``overrides`` are ``key=value`` strings whose values are parsed as YAML."""
        values = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for item in overrides:
            key, _, text = item.partition("=")
            values[key] = yaml.safe_load(text)
        known = {f.name for f in fields(cls)}
        if unknown := set(values) - known:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**values)


def make_optimiser(config: TrainConfig, parameters: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """SGD with momentum, the paper's choice, or Adam, which converges in far fewer steps (the demo model)."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            parameters, lr=config.learning_rate, momentum=config.momentum, weight_decay=config.weight_decay
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {config.optimizer!r}")


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: DataLoader, device: torch.device, thresholds: list[float]) -> list[dict]:
    """Both conventions' scores of ``model`` on ``loader``, one entry per threshold τ of eq. (1)."""
    model.eval()
    confusions = [SCDConfusion() for _ in thresholds]
    for batch in loader:
        outputs = forward_padded(model, batch["image1"].to(device), batch["image2"].to(device))
        label1, label2 = batch["label1"].to(device), batch["label2"].to(device)
        for threshold, confusion in zip(thresholds, confusions, strict=True):
            confusion.update(*class_maps(outputs, threshold), label1, label2)
    return [confusion.scores() for confusion in confusions]


#: Thresholds tried by ``calibrate_threshold``.
CALIBRATION_GRID = [round(0.05 * i, 2) for i in range(1, 20)]


def train(config: TrainConfig, log=print) -> Path:
    """Run the training described by ``config``; returns the checkpoint's path."""
    torch.manual_seed(config.seed)
    device = resolve_device(config.device)
    model = build(config.model, **config.hparams).to(device)
    metadata = checkpoint.default_metadata(model.scd_hparams)
    normalisation = config.normalisation or metadata["normalisation"]

    train_set = SecondDataset(
        config.train_root, normalisation, Augment(config.crop, (config.scale_range[0], config.scale_range[1]))
    )
    loader = DataLoader(train_set, config.batch_size, shuffle=True, drop_last=True, num_workers=config.workers)
    if len(loader) == 0:
        raise ValueError(f"{config.train_root}: {len(train_set)} pairs, fewer than one batch of {config.batch_size}")
    val_loader = None
    if config.val_root:
        val_loader = DataLoader(SecondDataset(config.val_root, normalisation), 1, num_workers=config.workers)

    optimiser = make_optimiser(config, [p for p in model.parameters() if p.requires_grad])
    # the 'poly' policy: lr = base · (1 - step/total)^power, stepped after every batch
    schedule = torch.optim.lr_scheduler.PolynomialLR(
        optimiser, total_iters=config.epochs * len(loader), power=config.poly_power
    )
    scores = None
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        running = 0.0
        for batch in loader:
            x1, x2 = batch["image1"].to(device), batch["image2"].to(device)
            loss = model.loss(model(x1, x2), batch["label1"].to(device), batch["label2"].to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            running += loss.item()
        message = f"epoch {epoch}/{config.epochs}: loss {running / len(loader):.4f}"
        if val_loader is not None:
            (scores,) = evaluate(model, val_loader, device, [config.threshold])
            message += "".join(f" · {name} SeK {s['SeK']:.2f} mIoU {s['mIoU']:.2f}" for name, s in scores.items())
        log(f"{message} ({time.perf_counter() - started:.0f} s)")

    threshold = config.threshold
    if config.calibrate_threshold:
        if val_loader is None:
            raise ValueError("calibrate_threshold needs a val_root")
        candidates = evaluate(model, val_loader, device, CALIBRATION_GRID)
        best = max(range(len(CALIBRATION_GRID)), key=lambda i: candidates[i]["from_to"]["SeK"])
        threshold, scores = CALIBRATION_GRID[best], candidates[best]
        log(f"calibrated threshold {threshold}: from_to SeK {scores['from_to']['SeK']:.2f}")

    output = Path(config.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    extra = {"scores": scores} if scores is not None else {}
    return checkpoint.save(
        model,
        output,
        normalisation=normalisation,
        tile_size=config.tile_size or config.crop,
        threshold=threshold,
        epochs=config.epochs,
        training=json.loads(json.dumps(asdict(config))),
        **extra,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.splitlines()[0])
    parser.add_argument("config", help="YAML file with the settings of training.train.TrainConfig")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
    args = parser.parse_args(argv)
    config = TrainConfig.from_yaml(args.config, args.set)
    keep_freed_memory()  # this process is ours: let the model reuse its memory (scd_core.cpu_memory)
    path = train(config, log=lambda text: print(text, file=sys.stderr, flush=True))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
