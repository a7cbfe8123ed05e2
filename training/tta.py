"""Test-time augmentation: the column groups of the ASN paper's Tables I-V.

``plain``
    one forward pass on the pair as it is.
``ms``
    multi-scale testing with the paper's six scales {0.5, 0.75, 1.0, 1.25, 1.5, 1.75} (§VI-A): both
    images are resized bilinearly by each factor, run through the model (padded to the model's stride
    and cropped back, :func:`scd_core.models.inference.forward_padded`), and every output is resized
    back to the pair's size.
``ms_flip``
    the same with, at every scale, the horizontally flipped pair as well (flipped back after the
    model): 12 passes. The paper names "flip" without saying which; a horizontal flip is the test-time
    flip of the segmentation code of its time (e.g. mmsegmentation's ``flip``).

How the passes are merged before eq. (1) and eq. (12): each pass's outputs become probabilities (the
softmax of each date's land-cover logits, the sigmoid of the change logit), the probabilities are
averaged over the passes, and the decision is taken once, on the averages: changed where the mean
change probability reaches τ, each date's class the arg-max of its mean land-cover probabilities.
Averaging probabilities rather than logits or decisions keeps τ = 0.5 meaning "more likely changed
than not" for the merged prediction. For ASN-ATL the passes are the ATL model's outputs, so eq. (12)
applies to the revised maps. HRSCD.str1, whose change *is* a comparison of its labels (eq. 2), takes
its change from the merged land-cover probabilities (``change_from_semantics``), not from an average
of per-pass decisions. HRSCD.str2, read by the arg-max of its joint classes, averages its joint
probabilities and reads the merged ones that way (``outputs_of_joint``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from scd_core.models.inference import class_maps, forward_padded
from scd_core.trainer.loop import Predictor

SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
#: The passes of each column group: (scale, horizontally flipped).
PASSES: dict[str, tuple[tuple[float, bool], ...]] = {
    "plain": ((1.0, False),),
    "ms": tuple((scale, False) for scale in SCALES),
    "ms_flip": tuple((scale, flipped) for scale in SCALES for flipped in (False, True)),
}
GROUPS = tuple(PASSES)


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return x if tuple(x.shape[-2:]) == size else F.interpolate(x, size, mode="bilinear", align_corners=False)


def _one_pass(
    model: nn.Module, x1: torch.Tensor, x2: torch.Tensor, scale: float, flipped: bool
) -> dict[str, torch.Tensor]:
    """Probabilities of one pass, at the pair's own size."""
    size = (x1.shape[-2], x1.shape[-1])
    scaled = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    y1, y2 = _resize(x1, scaled), _resize(x2, scaled)
    if flipped:
        y1, y2 = y1.flip(-1), y2.flip(-1)
    outputs = forward_padded(model, y1, y2)
    probabilities = {
        "sem1": outputs["sem1"].float().softmax(1),
        "sem2": outputs["sem2"].float().softmax(1),
        "change": torch.sigmoid(outputs["change"].float()),
    }
    if "change_type" in outputs:  # HRSCD.str2's joint classes
        probabilities["change_type"] = outputs["change_type"].float().softmax(1)
    if flipped:
        probabilities = {key: value.flip(-1) for key, value in probabilities.items()}
    return {key: _resize(value, size) for key, value in probabilities.items()}


def merged_outputs(model: nn.Module, x1: torch.Tensor, x2: torch.Tensor, group: str) -> dict[str, torch.Tensor]:
    """The passes of ``group`` merged, as outputs :func:`class_maps` reads: log mean land-cover
    probabilities and the logit of the mean change probability."""
    passes = PASSES[group]
    total: dict[str, torch.Tensor] = {}
    for scale, flipped in passes:
        for key, value in _one_pass(model, x1, x2, scale, flipped).items():
            total[key] = total[key] + value if key in total else value
    mean = {key: value / len(passes) for key, value in total.items()}
    merged = {"sem1": mean["sem1"].log(), "sem2": mean["sem2"].log(), "change": torch.logit(mean["change"])}
    derive = getattr(model, "change_from_semantics", None)
    if derive is not None:
        merged["change"] = derive(merged["sem1"], merged["sem2"])
    joint = getattr(model, "outputs_of_joint", None)
    if joint is not None:
        merged = dict(joint(mean["change_type"].log()))
    return merged


@torch.no_grad()
def predict(
    model: nn.Module, x1: torch.Tensor, x2: torch.Tensor, group: str, tau: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-date class maps (B×H×W uint8: 0 no change, 1..N) of eq. (1)/(12) under ``group``'s passes."""
    return class_maps(merged_outputs(model, x1, x2, group), tau)


def predictor(group: str) -> Predictor:
    """:func:`predict` under ``group``'s passes, as the trainer's scoring takes a prediction."""
    return lambda model, x1, x2, tau: predict(model, x1, x2, group, tau)
