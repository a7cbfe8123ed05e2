"""What every model of the ASN family shares: the output contract and the multitask loss."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from scd_core.models.losses import scd_loss


class SCDModel(nn.Module):
    """A bitemporal model: ``forward(x1, x2)`` gives ``sem1``, ``sem2`` and ``change`` logits.

    The default :meth:`loss` is ASN's eq. (9) with ``α = β = 1``; models trained otherwise override it.
    """

    def loss(self, outputs: Mapping[str, torch.Tensor], label1: torch.Tensor, label2: torch.Tensor) -> torch.Tensor:
        return scd_loss(outputs, label1, label2)
