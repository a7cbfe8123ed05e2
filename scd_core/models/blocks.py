"""Building blocks shared by every model family. Each is written once and imported everywhere.

The three *basic blocks* are the units the ASN paper swaps in its encoders (Tables I, III and IV):
residual blocks (He et al.), Xception blocks of depthwise-separable convolutions (Chollet) and
squeeze-and-excitation residual blocks (Hu et al.). All three take ``(in_channels, out_channels,
stride)`` and keep the same outer shape: a body, a shortcut (identity, or a strided 1×1 projection
where the shape changes), a sum and a ReLU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def resize_like(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Bilinear resampling of ``x`` to the height and width of ``like`` (decoders joining scales)."""
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


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


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    )


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Identity where the shape is kept, else a strided 1×1 projection (ResNet's option B)."""
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return _conv_bn(in_channels, out_channels, kernel_size=1, stride=stride)


class _ShortcutBlock(nn.Module):
    """``ReLU(body(x) + shortcut(x))``: the outer shape every basic block shares.

    With ``activate=False`` the block returns the sum itself, signed: the last block before a linear
    classifier (see :mod:`.decoders`).
    """

    body: nn.Module

    def __init__(self, in_channels: int, out_channels: int, stride: int, activate: bool = True) -> None:
        super().__init__()
        self.shortcut = _shortcut(in_channels, out_channels, stride)
        self.relu: nn.Module = nn.ReLU(inplace=True) if activate else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


def _residual_body(in_channels: int, out_channels: int, stride: int) -> list[nn.Module]:
    """Two 3×3 Conv-BN, the first strided, ReLU between them: the body of the residual and SE blocks."""
    return [
        _conv_bn(in_channels, out_channels, stride=stride),
        nn.ReLU(inplace=True),
        _conv_bn(out_channels, out_channels),
    ]


class ResidualBlock(_ShortcutBlock):
    """Basic residual block: two 3×3 Conv-BN, the first strided, ReLU between them."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, activate: bool = True) -> None:
        super().__init__(in_channels, out_channels, stride, activate)
        self.body = nn.Sequential(*_residual_body(in_channels, out_channels, stride))


class SeparableConv2d(nn.Sequential):
    """Depthwise 3×3 convolution followed by a pointwise 1×1 convolution (Xception's unit)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, in_channels, 3, stride, 1, groups=in_channels, bias=False),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
        )


class XceptionBlock(_ShortcutBlock):
    """Xception block: three separable 3×3 convolutions with BN, the last one strided.

    Xception's middle-flow block has three separable convolutions; its entry-flow blocks subsample with
    a max-pool, replaced here by a stride so that all three basic blocks subsample the same way.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, stride)
        self.body = nn.Sequential(
            SeparableConv2d(in_channels, out_channels),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            SeparableConv2d(out_channels, out_channels),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            SeparableConv2d(out_channels, out_channels, stride),
            nn.BatchNorm2d(out_channels),
        )


class SqueezeExcitation(nn.Module):
    """Channel attention: global average pooling, a bottleneck MLP and a sigmoid gate per channel."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with each channel scaled by its gate."""
        return x * self.gate(x)


class SEBlock(_ShortcutBlock):
    """Squeeze-and-excitation residual block: a basic residual body recalibrated before the sum."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, stride)
        self.body = nn.Sequential(*_residual_body(in_channels, out_channels, stride), SqueezeExcitation(out_channels))
