"""One epoch of training and one pass of scoring: the plain torch loop, on one process or many.

The loop is deliberately plain: a forward pass (under autocast where AMP is on), the model's own loss
on float32 outputs, a backward pass (scaled for float16), an optimiser step and a schedule step per
batch. No framework sits in between, so the benchmark can hold it to a bare loop's speed and every
pixel of a validation split is counted exactly once (:class:`scd_core.trainer.sampling.ShardSampler`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn
from tqdm import tqdm

from scd_core.geo.scoring import binary_scores
from scd_core.labels import CHANGED, IGNORE, NO_CHANGE
from scd_core.metrics import SCDConfusion
from scd_core.models.inference import class_maps, forward_padded
from scd_core.trainer.distributed import Processes, all_reduce_sum, broadcast_buffers
from scd_core.trainer.precision import Precision

#: Steps between two refreshes of the progress bar's loss (each reads the loss back from the device).
REFRESH_STEPS = 10
#: A model's loss (:meth:`scd_core.models.base.SCDModel.loss`): its outputs and both dates' labels to a scalar.
LossFunction = Callable[[Mapping[str, torch.Tensor], torch.Tensor, torch.Tensor], torch.Tensor]
#: Per-date class maps (B×H×W, 0 = no change) of a model on a pair at threshold τ: plain here, the
#: paper's test-time augmentation in ``training.tta``.
Predictor = Callable[[nn.Module, torch.Tensor, torch.Tensor, float], tuple[torch.Tensor, torch.Tensor]]


@torch.no_grad()
def plain_prediction(
    model: nn.Module, x1: torch.Tensor, x2: torch.Tensor, tau: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. (1)/(12) on one forward pass of the pair as it is."""
    return class_maps(forward_padded(model, x1, x2), tau)


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
    bar: bool = True  #: a progress bar on stderr (main process only)


@dataclass(frozen=True)
class EpochResult:
    """What an epoch of training did, over all processes."""

    loss: float
    steps: int
    images: int
    seconds: float

    @property
    def images_per_second(self) -> float:
        """Training throughput over all processes."""
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
    bar = tqdm(
        total=steps,
        desc=description,
        unit="batch",
        leave=False,
        disable=not (processes.main and optimisation.bar),
        dynamic_ncols=True,
    )
    for step, batch in enumerate(batches, 1):
        x1, x2 = precision.inputs(batch["image1"]), precision.inputs(batch["image2"])
        label1, label2 = (batch[key].to(precision.device, non_blocking=True) for key in ("label1", "label2"))
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


@dataclass
class Validation:
    """A validation pass's counts: both conventions' confusion matrices of the pixels with classes, and
    the 2×2 change matrix ``[predicted, true]`` of every labelled pixel (binary labels included)."""

    confusion: SCDConfusion
    change: torch.Tensor

    def scores(self, task: str = "semantic") -> dict[str, dict[str, float]]:
        """The epoch's ``val`` record: change's binary scores, and SECOND's for a semantic task."""
        (tn, fn), (fp, tp) = self.change.tolist()
        record = {"change": binary_scores(int(tp), int(fp), int(fn), int(tn))}
        return {**record, **self.confusion.scores()} if task == "semantic" else record


@torch.no_grad()
def score(
    model: nn.Module,
    batches: Iterable[dict[str, torch.Tensor]],
    num_classes: int,
    precision: Precision,
    processes: Processes,
    threshold: float,
    predict: Predictor = plain_prediction,
) -> Validation:
    """Both conventions' confusion matrices and the change matrix of ``model`` (not DDP-wrapped) on this
    process's share of the split, summed over the processes: every process returns the whole split's.

    Scoring runs in float32 even where training uses AMP, so that validation during training and
    ``python -m training.evaluate`` of the saved model give the same scores on any device. Pixels
    labelled only "changed" (:data:`~scd_core.labels.CHANGED`) count in the change matrix alone.
    """
    broadcast_buffers(model, processes)
    model.eval()
    confusion = SCDConfusion(num_classes)
    change = torch.zeros((2, 2), dtype=torch.int64, device=precision.device)
    for batch in batches:
        x1, x2 = precision.inputs(batch["image1"]), precision.inputs(batch["image2"])
        pred1, pred2 = predict(model, x1, x2, threshold)
        label1, label2 = (batch[key].to(precision.device, non_blocking=True) for key in ("label1", "label2"))
        valid = label1 != IGNORE
        truth = (label1[valid] != NO_CHANGE).long()
        change += torch.bincount(2 * (pred1[valid] != 0).long() + truth, minlength=4).view(2, 2)
        confusion.update(
            pred1, pred2, label1.masked_fill(label1 == CHANGED, IGNORE), label2.masked_fill(label2 == CHANGED, IGNORE)
        )
    counts = torch.as_tensor(confusion.counts, device=precision.device)
    confusion.counts = all_reduce_sum(counts.clone(), processes)
    return Validation(confusion, all_reduce_sum(change, processes))
