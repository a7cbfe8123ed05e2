"""The τ of ``scd train``'s recipe: the histogram's F1 at every cut is the F1 of thresholding there."""

from __future__ import annotations

import numpy as np
import torch

from scd_core.labels import CHANGED, IGNORE
from scd_core.models import build
from scd_core.models.inference import forward_padded
from scd_core.trainer.calibration import BINS, LOWEST, best_threshold
from scd_core.trainer.distributed import Processes
from scd_core.trainer.precision import Precision


def test_the_chosen_threshold_has_the_best_f1_of_thresholding_the_probabilities_directly():
    torch.manual_seed(3)
    model = build("fc_siam_diff", num_classes=1, width=4).eval()
    batches = []
    for _ in range(3):
        label = torch.where(torch.rand(2, 64, 64) < 0.3, CHANGED, 0)
        label[:, :4] = IGNORE
        batches.append({"image1": torch.randn(2, 3, 64, 64), "image2": torch.randn(2, 3, 64, 64), "label1": label})
    precision = Precision.choose(torch.device("cpu"), "off", None)
    tau, f1 = best_threshold(model, batches, precision, Processes(0, 1, torch.device("cpu")))

    with torch.no_grad():
        probabilities = torch.cat(
            [torch.sigmoid(forward_padded(model, b["image1"], b["image2"])["change"][:, 0]) for b in batches]
        )
    labels = torch.cat([b["label1"] for b in batches])
    valid = labels != IGNORE
    p, truth = probabilities[valid].numpy(), (labels[valid] != 0).numpy()

    def f1_at(cut: float) -> float:
        predicted = p >= cut
        tp = (predicted & truth).sum()
        return 2 * tp / (predicted.sum() + truth.sum())

    cuts = [k / BINS for k in range(BINS) if LOWEST <= k / BINS <= 1 - LOWEST]
    direct = [f1_at(cut) for cut in cuts]
    assert np.isclose(f1, max(direct), atol=1e-6)
    assert np.isclose(f1_at(tau), f1, atol=1e-6)
