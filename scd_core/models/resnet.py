"""ResNet-34 (He et al., CVPR 2016) as a feature encoder, built from scratch with Kaiming initialisation.

LSAFNet trains its ResNet-34 backbone from scratch ("we initialize our network with Kaiming
Initialization [16]"), so nothing here loads weights. The encoder keeps the paper's block counts
(3, 4, 6, 3) and scales every channel count by ``width`` (64 in the original network), so tests can
train a narrow but equally deep copy. Its residual unit is the shared
:class:`~scd_core.models.blocks.ResidualBlock`: ResNet-34's basic block of two 3×3 Conv-BN layers
with a strided 1×1 projection shortcut where the shape changes.

:class:`ResNet34` returns the five feature maps a U-shaped decoder needs, named as in LSAFNet §II-A:
``F_L`` (stem, stride 2), ``F_M`` (stage 1, stride 4), ``F_1``, ``F_2``, ``F_3`` (stages 2-4, strides
8, 16, 32) with ``width × (1, 1, 2, 4, 8)`` channels.
"""

from __future__ import annotations

import torch
from torch import nn

from scd_core.models.blocks import ResidualBlock

__all__ = ["ResNet34", "kaiming_init"]

#: Residual blocks per stage of ResNet-34.
RESNET34_BLOCKS = (3, 4, 6, 3)


def kaiming_init(module: nn.Module) -> None:
    """He et al. (ICCV 2015) initialisation of every convolution and linear layer under ``module``.

    Weights ~ N(0, 2 / fan_in) (the paper's forward-propagation case for ReLU networks), biases 0;
    normalisation layers start as the identity (weight 1, bias 0).
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Conv3d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm)):
            nn.init.ones_(layer.weight)
            nn.init.zeros_(layer.bias)


def _stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [ResidualBlock(in_channels, out_channels, stride)]
    layers += [ResidualBlock(out_channels, out_channels) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet34(nn.Module):
    """ResNet-34 without its classifier, returning ``[F_L, F_M, F_1, F_2, F_3]``.

    Args:
        in_channels: image bands.
        width: channels of the stem and of the first stage (64 in ResNet-34); later stages double it.
    """

    def __init__(self, in_channels: int = 3, width: int = 64) -> None:
        super().__init__()
        widths = (width, 2 * width, 4 * width, 8 * width)
        #: Channels of F_L, F_M, F_1, F_2, F_3.
        self.channels: tuple[int, ...] = (width, *widths)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        )
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.stages = nn.ModuleList(
            _stage(c_in, c_out, blocks, stride=1 if i == 0 else 2)
            for i, (c_in, c_out, blocks) in enumerate(zip((width, *widths[:-1]), widths, RESNET34_BLOCKS, strict=True))
        )
        kaiming_init(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[F_L, F_M, F_1, F_2, F_3]``: the stem's output (stride 2) and each stage's (strides 4 to 32)."""
        features = [self.stem(x)]
        x = self.pool(features[0])
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features
