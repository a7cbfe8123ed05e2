"""Loss terms shared by the models' ``loss`` methods.

Labels are SECOND per-date class maps: 0 = no change, 1..6 = classes, 255 = ignore. As in SECOND's
training protocol (ASN paper §IV: the non-change masks "blacken the unchanged pixels in siamese semantic
segmentation branches"), the semantic terms are computed on changed pixels only: unchanged pixels carry
no land-cover label.

Binary change labels (``scd train`` on change polygons or a change raster) mark changed pixels with
:data:`~scd_core.labels.CHANGED`: they count as change in the change terms and are skipped by the
semantic and from-to terms, which have no class to learn there.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from scd_core.labels import CHANGED, IGNORE, NO_CHANGE


def semantic_targets(label: torch.Tensor) -> torch.Tensor:
    """Per-date class map → CE targets 0..N-1, with unchanged, class-less and ignored pixels set to ``IGNORE``."""
    target = label.long() - 1
    return target.masked_fill((label == NO_CHANGE) | (label == IGNORE) | (label == CHANGED), IGNORE)


def change_targets(label1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary change target (float 0/1) and its validity mask from the first date's label (a class or
    ``CHANGED`` is change)."""
    return (label1 != NO_CHANGE).float(), label1 != IGNORE


def change_type_targets(label1: torch.Tensor, label2: torch.Tensor, num_classes: int) -> torch.Tensor:
    """From-to targets for a ``1 + num_classes²``-way classifier (HRSCD strategy 2).

    0 where unchanged, ``1 + N·(c1-1) + (c2-1)`` where changed (the codes of
    :func:`scd_core.labels.change_code`); ``IGNORE`` where either date is ignored or the two dates
    disagree on whether the pixel changed.
    """
    label1, label2 = label1.long(), label2.long()
    codes = 1 + num_classes * (label1 - 1) + (label2 - 1)
    codes = torch.where(label1 == NO_CHANGE, torch.zeros_like(codes), codes)
    unknown = (label1 == IGNORE) | (label2 == IGNORE) | (label1 == CHANGED) | (label2 == CHANGED)
    invalid = unknown | ((label1 == NO_CHANGE) != (label2 == NO_CHANGE))
    return codes.masked_fill(invalid, IGNORE)


def semantic_loss(logits: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Cross entropy of land-cover logits on the changed pixels of ``label`` (0 if it has none)."""
    target = semantic_targets(label)
    if not (target != IGNORE).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits, target, weight=weight, ignore_index=IGNORE)


def change_loss(logit: torch.Tensor, label1: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross entropy of B×1×H×W change logits against ``label1 != 0``, ignoring 255.

    A single logit ``z`` with ``sigmoid(z)`` is the two-way softmax of the papers with ``z`` the
    difference of its two logits, so this is their two-class cross entropy.
    """
    target, valid = change_targets(label1)
    per_pixel = F.binary_cross_entropy_with_logits(logit[:, 0], target, reduction="none", pos_weight=pos_weight)
    return (per_pixel * valid).sum() / valid.sum().clamp(min=1)


def scd_loss(
    outputs: Mapping[str, torch.Tensor],
    label1: torch.Tensor,
    label2: torch.Tensor,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    semantic_weight: torch.Tensor | None = None,
    change_pos_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """The multitask loss of ASN eq. (9): ``α·E(M1, G1) + β·E(M2, G2) + E(C, Gc)``.

    The same three cross-entropy terms train HRSCD.str3/str4 and the FC-* baselines extended with
    semantic outputs.
    """
    return (
        alpha * semantic_loss(outputs["sem1"], label1, semantic_weight)
        + beta * semantic_loss(outputs["sem2"], label2, semantic_weight)
        + change_loss(outputs["change"], label1, change_pos_weight)
    )


def class_counts(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Pixels of each class 0..N-1 among the valid pixels of ``target`` (float32)."""
    valid = target[target != IGNORE]
    return torch.bincount(valid.flatten().long(), minlength=num_classes)[:num_classes].to(torch.float32)


def inverse_frequency(counts: torch.Tensor) -> torch.Tensor:
    """Class weights ∝ 1 / count: ATL's "categorical weights". Absent classes get 0; the present ones
    average to 1, so the loss keeps its scale."""
    present = counts > 0
    weights = torch.where(present, 1.0 / counts.clamp(min=1), torch.zeros_like(counts))
    return weights * present.sum().clamp(min=1) / weights.sum().clamp(min=torch.finfo(weights.dtype).tiny)
