"""Loss terms shared by the models' ``loss`` methods.

Labels are SECOND per-date class maps: 0 = no change, 1..6 = classes, 255 = ignore. As in SECOND's
training protocol (ASN paper §IV), the semantic terms are computed on changed pixels only: unchanged
pixels carry no land-cover label.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from scd_core.labels import IGNORE, NO_CHANGE


def semantic_targets(label: torch.Tensor) -> torch.Tensor:
    """Per-date class map → CE targets 0..5, with unchanged and ignored pixels set to ``IGNORE``."""
    target = label.long() - 1
    return target.masked_fill((label == NO_CHANGE) | (label == IGNORE), IGNORE)


def change_targets(label1: torch.Tensor) -> torch.Tensor:
    """Binary change target (float 0/1) and its validity mask from the first date's label."""
    return (label1 != NO_CHANGE).float(), label1 != IGNORE


def semantic_loss(logits: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Cross entropy of land-cover logits on the changed pixels of ``label`` (0 if it has none)."""
    target = semantic_targets(label)
    if not (target != IGNORE).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits, target, weight=weight, ignore_index=IGNORE)


def change_loss(logit: torch.Tensor, label1: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross entropy of B×1×H×W change logits against ``label1 != 0``, ignoring 255."""
    target, valid = change_targets(label1)
    per_pixel = F.binary_cross_entropy_with_logits(logit[:, 0], target, reduction="none", pos_weight=pos_weight)
    return (per_pixel * valid).sum() / valid.sum().clamp(min=1)
