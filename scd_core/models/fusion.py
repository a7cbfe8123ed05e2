"""How the per-level features of the two dates meet on their way into a shared decoder.

Each function takes per-level feature lists (as returned by :class:`~scd_core.models.encoders.Encoder`)
and returns one list: concatenation (FC-Siam-conc), absolute difference (FC-Siam-diff and HRSCD.str4's
"difference skip connections") and summation (ASN, which "replace[s] the difference skip connections
with simple summations", §VI-A).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from functools import reduce

import torch

Features = Sequence[torch.Tensor]


def concatenated(*features: Features) -> list[torch.Tensor]:
    """``[a_l, b_l, ...]`` along channels at each level."""
    return [torch.cat(level, dim=1) for level in zip(*features, strict=True)]


def absolute_difference(features1: Features, features2: Features) -> list[torch.Tensor]:
    """``|a_l - b_l|`` at each level: symmetric in the two dates."""
    return [(a - b).abs() for a, b in zip(features1, features2, strict=True)]


def summed(*features: Features) -> list[torch.Tensor]:
    """``a_l + b_l + ...`` at each level."""
    return [reduce(operator.add, level) for level in zip(*features, strict=True)]
