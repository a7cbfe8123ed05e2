"""One epoch of training and one pass of scoring: the plain torch loop, on one process or many.

The loop is deliberately plain: a forward pass (under autocast where AMP is on), the model's own loss
on float32 outputs, a backward pass (scaled for float16), an optimiser step and a schedule step per
batch. No framework sits in between, so the benchmark can hold it to a bare loop's speed and every
pixel of a validation split is counted exactly once (:class:`training.sampling.ShardSampler`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn
from tqdm import tqdm

from scd_core.metrics import SCDConfusion
from training.distributed import Processes, all_reduce_sum, broadcast_buffers
from training.precision import Precision
from training.tta import predict

#: Steps between two refreshes of the progress bar's loss (each reads the loss back from the device).
REFRESH_STEPS = 10
#: A model's loss (:meth:`scd_core.models.base.SCDModel.loss`): its outputs and both dates' labels to a scalar.
LossFunction = Callable[[Mapping[str, torch.Tensor], torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Optimisation:
    """What every training step of a run uses, made once when the run starts."""

    model: nn.Module  #: as it runs: DistributedDataParallel on many processes
    loss_of: LossFunction  #: the underlying model's ``loss``
    optimiser: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler  #: stepped after every batch
    precision: Precision
    scaler: torch.amp.GradScaler | None  #: float16's loss scaling; None otherwise
    processes: Processes


@dataclass(frozen=True)
class EpochResult:
    """What an epoch of training did, over all processes."""

    loss: float
    steps: int
    images: int
    seconds: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0


def train_epoch(
    optimisation: Optimisation, batches: Iterable[dict[str, torch.Tensor]], steps: int, description: str
) -> EpochResult:
    """Train ``optimisation``'s model on ``steps`` batches; ``description`` heads the progress bar."""
    model, optimiser, scaler = optimisation.model, optimisation.optimiser, optimisation.scaler
    precision, processes = optimisation.precision, optimisation.processes
    model.train()
    total = torch.zeros((), device=precision.device)
    images = 0
    started = time.perf_counter()
    bar = tqdm(total=steps, desc=description, unit="batch", leave=False, disable=not processes.main, dynamic_ncols=True)
    for step, batch in enumerate(batches, 1):
        x1, x2 = precision.inputs(batch["image1"]), precision.inputs(batch["image2"])
        label1, label2 = batch["label1"].to(precision.device), batch["label2"].to(precision.device)
        with precision.autocast():
            outputs = model(x1, x2)
        loss = optimisation.loss_of({key: value.float() for key, value in outputs.items()}, label1, label2)
        optimiser.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
        else:
            loss.backward()
            optimiser.step()
        optimisation.schedule.step()
        total += loss.detach()
        images += x1.shape[0] * processes.world_size
        bar.update()
        if step % REFRESH_STEPS == 0 or step == steps:
            bar.set_postfix(loss=f"{total.item() / step:.4f}", img_s=f"{images / (time.perf_counter() - started):.1f}")
    bar.close()
    if precision.device.type == "cuda":
        torch.cuda.synchronize(precision.device)
    seconds = time.perf_counter() - started
    mean_loss = float(all_reduce_sum(total, processes).item()) / max(steps * processes.world_size, 1)
    return EpochResult(mean_loss, steps, images, seconds)


@torch.no_grad()
def score(
    model: nn.Module,
    batches: Iterable[dict[str, torch.Tensor]],
    num_classes: int,
    precision: Precision,
    processes: Processes,
    threshold: float,
    group: str = "plain",
) -> SCDConfusion:
    """Both conventions' confusion matrices of ``model`` (not DDP-wrapped) on this process's share of
    the split, summed over the processes: every process returns the whole split's matrices.

    Scoring runs in float32 even where training uses AMP, so that validation during training and
    ``python -m training.evaluate`` of the saved model give the same scores on any device.
    """
    broadcast_buffers(model, processes)
    model.eval()
    confusion = SCDConfusion(num_classes)
    for batch in batches:
        x1, x2 = precision.inputs(batch["image1"]), precision.inputs(batch["image2"])
        pred1, pred2 = predict(model, x1, x2, group, threshold)
        confusion.update(pred1, pred2, batch["label1"].to(precision.device), batch["label2"].to(precision.device))
    counts = torch.as_tensor(confusion.counts, device=precision.device)
    confusion.counts = all_reduce_sum(counts.clone(), processes)
    return confusion
