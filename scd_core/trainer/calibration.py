"""The change threshold τ that serves the analyst's own labels best, chosen on the validation split.

The papers fix τ = 0.5 (eq. 1), which is right for a model whose change probability is calibrated to
the data's own share of change. ``scd train``'s chips are not: half of them are centred on a changed
pixel (:mod:`scd_core.own_data.chips`), so the model sees far more change than the scenes hold and its
probabilities lean toward "changed". With ``calibrate_threshold`` the run ends by choosing the τ that
gives the highest F1 of change on its validation pixels (never training pixels), and the checkpoint
stores it, so ``scd detect`` applies it. The F1 of every τ comes from one pass: histograms of the
change probability of the changed and of the unchanged validation pixels.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from scd_core.labels import IGNORE, NO_CHANGE
from scd_core.models.inference import forward_padded
from scd_core.trainer.distributed import Processes, all_reduce_sum
from scd_core.trainer.precision import Precision

#: Histogram bins of the change probability: τ is chosen to 1/BINS.
BINS = 200
#: τ stays inside [LOWEST, 1 - LOWEST]: a model whose best cut is at an end has learned little.
LOWEST = 0.02


@torch.no_grad()
def best_threshold(
    model: nn.Module, batches: Iterable[dict[str, torch.Tensor]], precision: Precision, processes: Processes
) -> tuple[float, float]:
    """The τ of highest F1 of change on ``batches`` (the validation split) and that F1 (0-1)."""
    model.eval()
    histograms = torch.zeros((2, BINS), dtype=torch.float64, device=precision.device)
    for batch in batches:
        x1, x2 = precision.inputs(batch["image1"]), precision.inputs(batch["image2"])
        probability = torch.sigmoid(forward_padded(model, x1, x2)["change"][:, 0].float())
        label = batch["label1"].to(precision.device)
        valid = label != IGNORE
        bins = (probability[valid] * BINS).long().clamp(max=BINS - 1)
        changed = (label[valid] != NO_CHANGE).long()
        histograms += torch.bincount(changed * BINS + bins, minlength=2 * BINS).view(2, BINS).double()
    unchanged, changed = all_reduce_sum(histograms, processes).cpu().numpy()
    # predicted changed at τ = k / BINS: every pixel of bin k and above
    true_positive = np.cumsum(changed[::-1])[::-1]
    false_positive = np.cumsum(unchanged[::-1])[::-1]
    f1 = 2 * true_positive / np.maximum(2 * true_positive + false_positive + (changed.sum() - true_positive), 1)
    cuts = np.arange(BINS) / BINS
    allowed = (cuts >= LOWEST) & (cuts <= 1 - LOWEST)
    best = int(np.argmax(np.where(allowed, f1, -1.0)))
    return float(cuts[best]), float(f1[best])
