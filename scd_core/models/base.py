"""The contract every model keeps, and the base class that keeps most of it.

A model maps a pair of B×C×H×W images to :class:`ModelOutputs` and knows its paper's loss; the
registry records how to rebuild it (``scd_name``, ``scd_hparams``). :class:`ChangeDetector` states
this as a ``Protocol``, which training, the checkpoint and the detection engine rely on;
:class:`SCDModel` is the ``nn.Module`` every registered model derives from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypedDict, runtime_checkable

import torch
from torch import nn

from scd_core.models.losses import scd_loss


class _RequiredOutputs(TypedDict):
    sem1: torch.Tensor
    sem2: torch.Tensor
    change: torch.Tensor


class ModelOutputs(_RequiredOutputs, total=False):
    """What ``forward(x1, x2)`` returns, at the inputs' height and width.

    * ``sem1``, ``sem2``: B×N×H×W land-cover logits of each date (classes 1..N);
    * ``change``: B×1×H×W change logit (change probability = sigmoid);
    * ``change_type`` (HRSCD.str2 only): B×(1+N²)×H×W logits of no change and every from-to pair,
      which its loss needs.
    """

    change_type: torch.Tensor


@runtime_checkable
class ChangeDetector(Protocol):
    """A semantic change detector as scd uses it: built by the registry, trained with its own loss."""

    #: registry name and ``build`` keyword arguments, recorded by :func:`scd_core.models.build`
    scd_name: str
    scd_hparams: dict[str, Any]

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> ModelOutputs:
        """The pair's outputs (:class:`ModelOutputs`), at the inputs' height and width."""
        ...

    def loss(self, outputs: Mapping[str, torch.Tensor], label1: torch.Tensor, label2: torch.Tensor) -> torch.Tensor:
        """The model's paper's loss; labels are B×H×W class maps (0 no change, 1..N, 255 ignore)."""
        ...


class SCDModel(nn.Module):
    """A bitemporal model: ``forward(x1, x2)`` gives :class:`ModelOutputs`.

    The default :meth:`loss` is ASN's eq. (9) with ``α = β = 1``; models trained otherwise override it.
    """

    scd_name: str
    scd_hparams: dict[str, Any]

    def loss(self, outputs: Mapping[str, torch.Tensor], label1: torch.Tensor, label2: torch.Tensor) -> torch.Tensor:
        """ASN's eq. (9), the semantic terms on changed pixels; models trained on another loss override it."""
        return scd_loss(outputs, label1, label2)
