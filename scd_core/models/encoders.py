"""The encoder of the HRSCD family, built on any of the three basic blocks of the ASN paper.

ASN "keeps the same basic architecture as HRSCD.str4, which contains 10 basic blocks in encoders"
(§VI-A), and every model of Tables I, III and IV is trained with encoders built on residual, Xception
or squeeze-and-excitation blocks. The encoder here has five levels of two blocks: a block at the
level's resolution, whose output is the level's skip feature, then a strided block that halves the
resolution and doubles the channels. With base width ``w`` the features are

====== ====== ======== ====================================
index  stride channels role
====== ====== ======== ====================================
0      1      w        skip of decoder level 0
1      2      2w       skip of decoder level 1
2      4      4w       skip of decoder level 2 (ASN's shallow features)
3      8      8w       skip of decoder level 3
4      16     16w      skip of decoder level 4
5      32     32w      bottom, where the decoder starts
====== ====== ======== ====================================

The base width defaults to 8, the base depth of Daudt et al.'s residual FC-EF (FC-EF-Res, used by
HRSCD); ASN's Fig. 11 shows 16-channel change features, i.e. ``2w`` at stride 2.

**ImageNet backbones.** ``encoder`` may also name a classification network whose ImageNet weights
:mod:`.pretrained` can load: ``efficientnet_lite0`` (:mod:`.efficientnet_lite`), ``resnet18``,
``resnet34`` or ``resnet50`` (:mod:`.resnet`, torchvision's layout). Such a :class:`BackboneEncoder`
gives the same six features, with the backbone's own widths at strides 2 to 32 (``channels``), so the
models take it unchanged. These networks start with a stride-2 layer and have no full-resolution
feature, so level 0 is a residual block on the input at full resolution, ``w`` channels, always
trained from scratch: the decoder's last skip keeps the pixel-exact detail of the image, which
no stride-2 backbone feature carries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import nn

from scd_core.models.blocks import ResidualBlock, SEBlock, XceptionBlock
from scd_core.models.efficientnet_lite import EfficientNetLite0
from scd_core.models.resnet import ResNet

#: The basic blocks an encoder can be built on, by the ``encoder`` hyper-parameter's value.
BLOCKS: dict[str, type[nn.Module]] = {"residual": ResidualBlock, "xception": XceptionBlock, "se": SEBlock}
#: The ImageNet backbones an encoder can be, by the ``encoder`` hyper-parameter's value: each takes the
#: image bands and returns its features at strides 2 to 32, their widths in ``channels``.
BACKBONES: dict[str, Callable[[int], EfficientNetLite0 | ResNet]] = {
    "efficientnet_lite0": EfficientNetLite0,
    "resnet18": functools.partial(ResNet, depth=18),
    "resnet34": functools.partial(ResNet, depth=34),
    "resnet50": functools.partial(ResNet, depth=50),
}
#: Downsampling levels; inputs need H and W divisible by ``2 ** LEVELS``.
LEVELS = 5
#: Default base width (channels at full resolution).
WIDTH = 8


def level_channels(width: int) -> tuple[int, ...]:
    """Channels of the features at strides 1, 2, 4, 8, 16 and 32 for base width ``width``."""
    return tuple(width * 2**level for level in range(LEVELS + 1))


def block_type(encoder: str) -> type[nn.Module]:
    """The basic block named ``encoder``; ``ValueError`` lists the valid block names."""
    try:
        return BLOCKS[encoder]
    except KeyError:
        raise ValueError(f"unknown encoder block {encoder!r}; choose from {', '.join(BLOCKS)}") from None


class Encoder(nn.Module):
    """Ten basic blocks in five levels; returns the five skip features and the bottom feature."""

    def __init__(self, in_channels: int, width: int = WIDTH, encoder: str = "residual") -> None:
        super().__init__()
        block = block_type(encoder)
        self.channels = level_channels(width)
        blocks = []
        previous = in_channels
        for level in range(LEVELS):
            blocks.append(block(previous, self.channels[level]))
            blocks.append(block(self.channels[level], self.channels[level + 1], stride=2))
            previous = self.channels[level + 1]
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five skip features, from stride 1 to stride 16, and the bottom feature at stride 32."""
        features = []
        for same_resolution, downsample in zip(self.blocks[0::2], self.blocks[1::2], strict=True):
            x = same_resolution(x)
            features.append(x)
            x = downsample(x)
        return [*features, x]


class BackboneEncoder(nn.Module):
    """An ImageNet backbone (features at strides 2-32) under a full-resolution level 0 trained from scratch.

    Args:
        in_channels: image bands (twice the bands for an encoder of the stacked pair).
        width: channels of level 0, the base width ``w`` of the decoder.
        encoder: a key of :data:`BACKBONES`.
    """

    def __init__(self, in_channels: int, width: int, encoder: str) -> None:
        super().__init__()
        #: The backbone's name, a key of :data:`BACKBONES` (which weights fit it).
        self.architecture = encoder
        self.full_resolution = ResidualBlock(in_channels, width)
        self.backbone = BACKBONES[encoder](in_channels)
        #: Channels of the features at strides 1, 2, 4, 8, 16 and 32.
        self.channels: tuple[int, ...] = (width, *self.backbone.channels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Level 0 at stride 1, the backbone's four skips at strides 2 to 16, and its bottom at stride 32."""
        return [self.full_resolution(x), *self.backbone(x)]


#: Every value of the ``encoder`` hyper-parameter of the HRSCD layout.
ENCODERS = (*BLOCKS, *BACKBONES)


def build_encoder(in_channels: int, width: int = WIDTH, encoder: str = "residual") -> Encoder | BackboneEncoder:
    """The encoder named ``encoder``: ten basic blocks of that type, or an ImageNet backbone.

    Both return the five skips and the bottom; read their widths from ``channels``.
    """
    if encoder in BACKBONES:
        return BackboneEncoder(in_channels, width, encoder)
    if encoder in BLOCKS:
        return Encoder(in_channels, width, encoder)
    raise ValueError(f"unknown encoder {encoder!r}; choose from {', '.join(ENCODERS)}")
