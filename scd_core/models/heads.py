"""Output heads: 1×1 classifiers that turn decoder features into the contract's logits."""

from __future__ import annotations

import torch
from torch import nn

from scd_core.models.base import ModelOutputs


class Classifier(nn.Conv2d):
    """A 1×1 convolution from features to per-pixel logits."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size=1)


class SemanticChangeHead(nn.Module):
    """Three classifiers on one feature map: land cover of each date and change.

    This is how the single-decoder change detectors (FC-EF, FC-Siam-*) are "extended to SCD with
    semantic outputs" (ASN §VI-A): the decoder is shared and only the last 1×1 layer is per task.
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.sem1 = Classifier(in_channels, num_classes)
        self.sem2 = Classifier(in_channels, num_classes)
        self.change = Classifier(in_channels, 1)

    def forward(self, features: torch.Tensor) -> ModelOutputs:
        """The three classifiers' logits on the shared decoder's features."""
        return {"sem1": self.sem1(features), "sem2": self.sem2(features), "change": self.change(features)}
