"""ResNet-18, -34 and -50 (He et al., CVPR 2016) as feature encoders, laid out as torchvision's.

Two uses share this module. LSAFNet trains its ResNet-34 backbone from scratch ("we initialize our
network with Kaiming Initialization [16]"), with every channel count scaled by ``width`` (64 in the
original network) so tests can train a narrow but equally deep copy. The HRSCD and FC families can
take a ResNet encoder at the original width (:mod:`.encoders`), and :mod:`.pretrained` loads a user's
torchvision ``.pth`` into it: the layers here correspond one to one to torchvision's
(:func:`torchvision_key`), with the same padding, strides and batch-normalisation constants.

* ResNet-18 and -34 stack the basic block, the shared
  :class:`~scd_core.models.blocks.ResidualBlock`: two 3×3 Conv-BN layers with a strided 1×1 projection
  shortcut where the shape changes (2, 2, 2, 2 and 3, 4, 6, 3 blocks).
* ResNet-50 stacks :class:`Bottleneck` blocks (3, 4, 6, 3): 1×1 reduction, 3×3, 1×1 expansion by 4,
  strided at the 3×3 as in torchvision (the "ResNet v1.5" reading; the paper strides the first 1×1).

:class:`ResNet` returns the five feature maps a U-shaped decoder needs, named as in LSAFNet §II-A:
``F_L`` (stem, stride 2), ``F_M`` (stage 1, stride 4), ``F_1``, ``F_2``, ``F_3`` (stages 2-4, strides
8, 16, 32) with ``width × (1, e, 2e, 4e, 8e)`` channels, ``e`` being 1 for basic blocks and 4 for
bottlenecks.
"""

from __future__ import annotations

import torch
from torch import nn

from scd_core.models.blocks import ConvBNReLU, ResidualBlock, _conv_bn, _ShortcutBlock

__all__ = ["Bottleneck", "ResNet", "ResNet34", "kaiming_init", "torchvision_key"]


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


class Bottleneck(_ShortcutBlock):
    """ResNet-50's block: 1×1 Conv-BN-ReLU to ``out/4`` channels, strided 3×3 Conv-BN-ReLU, 1×1 Conv-BN to ``out``.

    The three Conv-BN pairs sit at ``body.0``, ``body.2`` and ``body.4``, as the two of the basic
    block at ``body.0`` and ``body.2``, so torchvision's ``convN``/``bnN`` are ``body.{2N-2}`` in both.
    """

    #: Output channels per channel of the 3×3 layer.
    EXPANSION = 4

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, stride)
        inner = out_channels // self.EXPANSION
        self.body = nn.Sequential(
            _conv_bn(in_channels, inner, kernel_size=1),
            nn.ReLU(inplace=True),
            _conv_bn(inner, inner, stride=stride),
            nn.ReLU(inplace=True),
            _conv_bn(inner, out_channels, kernel_size=1),
        )


#: Block type, its expansion and blocks per stage of each depth (the paper's Table 1).
LAYOUTS: dict[int, tuple[type[nn.Module], int, tuple[int, ...]]] = {
    18: (ResidualBlock, 1, (2, 2, 2, 2)),
    34: (ResidualBlock, 1, (3, 4, 6, 3)),
    50: (Bottleneck, Bottleneck.EXPANSION, (3, 4, 6, 3)),
}


def _stage(block: type[nn.Module], in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [block(in_channels, out_channels, stride)]
    layers += [block(out_channels, out_channels) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet(nn.Module):
    """A ResNet without its classifier, returning ``[F_L, F_M, F_1, F_2, F_3]``.

    Args:
        in_channels: image bands.
        width: channels of the stem (64 in the paper); stage ``i`` has ``width · 2^i · expansion``.
        depth: 18, 34 or 50.
    """

    def __init__(self, in_channels: int = 3, width: int = 64, depth: int = 34) -> None:
        super().__init__()
        block, expansion, counts = LAYOUTS[depth]
        widths = tuple(width * 2**i * expansion for i in range(len(counts)))
        #: Channels of F_L, F_M, F_1, F_2, F_3.
        self.channels: tuple[int, ...] = (width, *widths)
        self.stem = ConvBNReLU(in_channels, width, 7, 2)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.stages = nn.ModuleList(
            _stage(block, c_in, c_out, blocks, stride=1 if i == 0 else 2)
            for i, (c_in, c_out, blocks) in enumerate(zip((width, *widths[:-1]), widths, counts, strict=True))
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


class ResNet34(ResNet):
    """ResNet-34 (LSAFNet's encoder), ``width`` scaling every channel count."""

    def __init__(self, in_channels: int = 3, width: int = 64) -> None:
        super().__init__(in_channels, width, depth=34)


#: torchvision's ImageNet classifier, which the encoders drop (and only it).
TORCHVISION_CLASSIFIER_KEYS = frozenset({"fc.weight", "fc.bias"})


def torchvision_key(key: str) -> str:
    """torchvision's name of one of our ResNet tensors (``stages.1.0.shortcut.1.weight`` →
    ``layer2.0.downsample.1.weight``, ``stages.0.0.body.2.1.bias`` → ``layer1.0.bn2.bias``)."""
    parts = key.split(".")
    if parts[0] == "stem":  # stem.{0 conv, 1 bn}.tensor
        return f"{('conv1', 'bn1')[int(parts[1])]}.{parts[2]}"
    layer = f"layer{int(parts[1]) + 1}.{parts[2]}"
    if parts[3] == "shortcut":  # stages.s.b.shortcut.{0 conv, 1 bn}.tensor
        return f"{layer}.downsample.{parts[4]}.{parts[5]}"
    # stages.s.b.body.{0, 2, 4: the Conv-BN pairs between ReLUs}.{0 conv, 1 bn}.tensor
    return f"{layer}.{('conv', 'bn')[int(parts[5])]}{int(parts[4]) // 2 + 1}.{parts[6]}"
