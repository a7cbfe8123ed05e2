"""Building blocks shared by every model family. Each is written once and imported everywhere."""
from __future__ import annotations

from torch import nn


class ConvBNReLU(nn.Sequential):
    """``k×k`` convolution, batch normalisation and ReLU: the unit most decoders of the papers stack."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
    ) -> None:
        padding = dilation * (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )
