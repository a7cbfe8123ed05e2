"""The decoder of the HRSCD family: 13 residual blocks from stride 32 back to full resolution.

ASN keeps HRSCD.str4's "13 basic blocks in decoders" and embeds aSP and aRP "between the 6th and 7th
basic blocks" (§VI-A); the preprint calls the two halves D1/D2 (semantic branches) and D^c_1/D^c_2
(change branch). Only the encoders' blocks are swapped in Tables III and IV, so decoder blocks are
always residual. The blocks, with ``c_l = w·2^l`` channels at level ``l`` (stride ``2^l``):

==== ====== =====================================================
#    stride block
==== ====== =====================================================
1    32     residual block, bottom → c_5
2    32→16  upsampling block, c_5 → c_4
3    16     residual block on [stream, skip_4] → c_4
4    16→8   upsampling block, c_4 → c_3
5    8      residual block on [stream, skip_3] → c_3
6    8→4    upsampling block, c_3 → c_2       (end of :meth:`Decoder.deep`)
7    4      residual block on [stream, skip_2] → c_2
8    4→2    upsampling block, c_2 → c_1
9    2      residual block on [stream, skip_1] → c_1
10   2→1    upsampling block, c_1 → c_0
11   1      residual block on [stream, skip_0] → c_0
12   1      residual block
13   1      residual block, without its ReLU  (end of :meth:`Decoder.shallow`)
==== ====== =====================================================

``[a, b]`` is concatenation along channels, U-Net style. An upsampling block is bilinear ×2
interpolation followed by a residual block. Skips are passed in by the model, so one decoder serves
plain U-Nets, concatenated or differenced siamese features, and ASN's summed ones.

**Why the last block has no ReLU.** Every model of the family ends in 1×1 classifiers on the decoder's
output (the papers give no more detail). On post-ReLU features a classifier can only raise a pixel's
logit above its bias through features that are positive there; trained with eq. (9), the change
classifier learned the opposite (every weight negative, "change" coded as all features at zero),
and at zero the ReLU passes no gradient, so the changed pixels' logit stayed at the bias, which the
no-change majority holds down: P(change) never reached 0.5 (demo model: at most σ(−0.23) = 0.44;
80% of its changed pixels had all four features at zero), and SeK at the paper's τ = 0.5 was 0 in
every epoch. The residual sum before the ReLU is signed and passes gradient everywhere, so the
classifiers' logits can move both ways at every pixel; the block's parameters are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from scd_core.models.blocks import ResidualBlock
from scd_core.models.encoders import LEVELS, WIDTH, level_channels

#: Number of decoder blocks before the bridge where ASN inserts aSP and aRP (§VI-A).
BRIDGE = 6
#: Encoder level (stride ``2**BRIDGE_LEVEL``) whose resolution the stream has at the bridge.
BRIDGE_LEVEL = 2
#: Which skip level (encoder feature index) is concatenated before a given block (0-based index).
_SKIP_BEFORE_BLOCK = {2: 4, 4: 3, 6: 2, 8: 1, 10: 0}


class UpsamplingBlock(nn.Module):
    """Bilinear ×2 interpolation, then a residual block changing ``in_channels`` to ``out_channels``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.block = ResidualBlock(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` at twice its height and width, with ``out_channels`` channels."""
        return self.block(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))


class Decoder(nn.Module):
    """Thirteen residual blocks; ``forward(bottom, skips)`` = ``shallow(deep(bottom, skips), skips)``.

    Args:
        in_channels: channels of the bottom feature the decoder starts from.
        skip_channels: channels of the five skip features, from stride 1 to stride 16.
        width: base width ``w``; the output has ``w`` channels at full resolution.
    """

    def __init__(self, in_channels: int, skip_channels: Sequence[int], width: int = WIDTH) -> None:
        super().__init__()
        if len(skip_channels) != LEVELS:
            raise ValueError(f"expected {LEVELS} skip widths, got {len(skip_channels)}")
        c = level_channels(width)
        s = skip_channels
        self.blocks = nn.ModuleList(
            [
                ResidualBlock(in_channels, c[5]),
                UpsamplingBlock(c[5], c[4]),
                ResidualBlock(c[4] + s[4], c[4]),
                UpsamplingBlock(c[4], c[3]),
                ResidualBlock(c[3] + s[3], c[3]),
                UpsamplingBlock(c[3], c[2]),
                ResidualBlock(c[2] + s[2], c[2]),
                UpsamplingBlock(c[2], c[1]),
                ResidualBlock(c[1] + s[1], c[1]),
                UpsamplingBlock(c[1], c[0]),
                ResidualBlock(c[0] + s[0], c[0]),
                ResidualBlock(c[0], c[0]),
                ResidualBlock(c[0], c[0], activate=False),  # signed features for the 1×1 classifiers
            ]
        )
        #: Channels of the stream at the bridge (after block 6) and at the output.
        self.bridge_channels = c[2]
        self.out_channels = c[0]

    def _run(self, x: torch.Tensor, skips: Sequence[torch.Tensor], start: int, stop: int) -> torch.Tensor:
        for index in range(start, stop):
            if index in _SKIP_BEFORE_BLOCK:
                x = torch.cat([x, skips[_SKIP_BEFORE_BLOCK[index]]], dim=1)
            x = self.blocks[index](x)
        return x

    def deep(self, bottom: torch.Tensor, skips: Sequence[torch.Tensor]) -> torch.Tensor:
        """Blocks 1-6 (D1, D^c_1): from the bottom to the bridge at stride 4."""
        return self._run(bottom, skips, 0, BRIDGE)

    def shallow(self, bridge: torch.Tensor, skips: Sequence[torch.Tensor]) -> torch.Tensor:
        """Blocks 7-13 (D2, D^c_2): from the bridge to full resolution."""
        return self._run(bridge, skips, BRIDGE, len(self.blocks))

    def forward(self, bottom: torch.Tensor, skips: Sequence[torch.Tensor]) -> torch.Tensor:
        """The whole decoder; ASN calls :meth:`deep` and :meth:`shallow` apart to put its pyramids between."""
        return self.shallow(self.deep(bottom, skips), skips)
