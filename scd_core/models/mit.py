"""A hierarchical vision transformer encoder with four stages, built from scratch.

CdSC encodes each date with a "weight-sharing transformer", a siamese hierarchical Transformer in
the manner of the siamese change detector it cites ([16], Bandara & Patel), whose encoder follows
SegFormer's Mix Transformer (MiT): hence this file's name. Each stage

1. embeds overlapping patches with a strided convolution (7×7 / stride 4 in the first stage, 3×3 /
   stride 2 after), so the four outputs have strides 4, 8, 16 and 32;
2. runs transformer blocks of *efficient* self-attention, whose keys and values come from the tokens
   spatially reduced by a factor ``R_i`` (8, 4, 2, 1), and a Mix-FFN whose 3×3 depthwise convolution
   gives the tokens their position (no positional embedding, so any input size works);
3. normalises its tokens and returns them as a B×C×H×W map.

Depths and widths: SegFormer's MiT-b2, widths (64, 128, 320, 512) with 64-channel heads (1, 2, 5, 8
heads) and depths (3, 4, 6, 3): 24.20 M parameters, the 24.2 M that SegFormer's paper gives for the
MiT-B2 encoder. ``width`` scales every stage's channels (``width × (1, 2, 5, 8)``), keeping the heads
and the depths; ``depths=(3, 3, 4, 3)`` is ChangeFormer's (Bandara & Patel) shallower encoder
(20.42 M). Why b2 is the default is said in :mod:`.cdsc`. No stochastic depth or dropout: the CdSC
paper names no regulariser.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MIT_B2_DEPTHS", "HierarchicalTransformer"]

STAGE_WIDTH_MULTIPLIERS = (1, 2, 5, 8)
#: Transformer blocks per stage of SegFormer's MiT-b2.
MIT_B2_DEPTHS = (3, 4, 6, 3)
HEADS = (1, 2, 5, 8)
SPATIAL_REDUCTION = (8, 4, 2, 1)
MLP_RATIO = 4
LAYER_NORM_EPS = 1e-6


class OverlapPatchEmbedding(nn.Module):
    """Strided ``k×k`` convolution whose windows overlap (``k > stride``), then LayerNorm on the tokens."""

    def __init__(self, in_channels: int, dim: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size, stride, kernel_size // 2)
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.proj(x)
        height, width = x.shape[-2:]
        return self.norm(x.flatten(2).transpose(1, 2)), height, width


def _tokens_to_map(tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, height, width)


class EfficientSelfAttention(nn.Module):
    """Multi-head self-attention whose keys and values are the tokens reduced ``reduction``× per side."""

    def __init__(self, dim: int, heads: int, reduction: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.reduce: nn.Module = nn.Identity()
        self.reduce_norm: nn.Module = nn.Identity()
        if reduction > 1:
            self.reduce = nn.Conv2d(dim, dim, reduction, reduction)
            self.reduce_norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        return x.reshape(batch, tokens, self.heads, dim // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        query = self._split_heads(self.query(x))
        reduced = self.reduce(_tokens_to_map(x, height, width)).flatten(2).transpose(1, 2)
        key, value = self.key_value(self.reduce_norm(reduced)).chunk(2, dim=-1)
        out = F.scaled_dot_product_attention(query, self._split_heads(key), self._split_heads(value))
        return self.proj(out.transpose(1, 2).flatten(2))


class MixFFN(nn.Module):
    """Linear → 3×3 depthwise convolution → GELU → linear: the feed-forward that also encodes position."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.expand = nn.Linear(dim, hidden)
        self.depthwise = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
        self.project = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        x = self.depthwise(_tokens_to_map(self.expand(x), height, width)).flatten(2).transpose(1, 2)
        return self.project(F.gelu(x))


class TransformerBlock(nn.Module):
    """Pre-norm residual block: efficient self-attention, then Mix-FFN."""

    def __init__(self, dim: int, heads: int, reduction: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.attention = EfficientSelfAttention(dim, heads, reduction)
        self.norm2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.ffn = MixFFN(dim, MLP_RATIO * dim)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        x = x + self.attention(self.norm1(x), height, width)
        return x + self.ffn(self.norm2(x), height, width)


class TransformerStage(nn.Module):
    """Patch embedding, ``depth`` transformer blocks and a final LayerNorm, returning a B×C×H×W map."""

    def __init__(self, in_channels: int, dim: int, depth: int, heads: int, reduction: int, first: bool) -> None:
        super().__init__()
        kernel_size, stride = (7, 4) if first else (3, 2)
        self.embed = OverlapPatchEmbedding(in_channels, dim, kernel_size, stride)
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, reduction) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens, height, width = self.embed(x)
        for block in self.blocks:
            tokens = block(tokens, height, width)
        return _tokens_to_map(self.norm(tokens), height, width)


class HierarchicalTransformer(nn.Module):
    """Four-stage hierarchical vision transformer returning ``[X^1, X^2, X^3, X^4]`` (strides 4-32).

    Args:
        in_channels: image bands.
        width: channels of the first stage (64 by default); stages have ``width × (1, 2, 5, 8)``.
        depths: transformer blocks per stage.
    """

    def __init__(self, in_channels: int = 3, width: int = 64, depths: tuple[int, ...] = MIT_B2_DEPTHS) -> None:
        super().__init__()
        #: Channels of the four outputs.
        self.channels: tuple[int, ...] = tuple(width * m for m in STAGE_WIDTH_MULTIPLIERS)
        inputs = (in_channels, *self.channels[:-1])
        self.stages = nn.ModuleList(
            TransformerStage(c_in, dim, depth, heads, reduction, first=i == 0)
            for i, (c_in, dim, depth, heads, reduction) in enumerate(
                zip(inputs, self.channels, depths, HEADS, SPATIAL_REDUCTION, strict=True)
            )
        )
        self.apply(_init_transformer_weights)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[X^1, X^2, X^3, X^4]``, each stage's output (strides 4, 8, 16, 32)."""
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


def _init_transformer_weights(layer: nn.Module) -> None:
    """Usual vision-transformer start: truncated normal (σ = 0.02) linears, He-normal convolutions."""
    if isinstance(layer, nn.Linear):
        nn.init.trunc_normal_(layer.weight, std=0.02)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    elif isinstance(layer, nn.Conv2d):
        fan_out = layer.kernel_size[0] * layer.kernel_size[1] * layer.out_channels // layer.groups
        nn.init.normal_(layer.weight, 0.0, math.sqrt(2.0 / fan_out))
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    elif isinstance(layer, nn.LayerNorm):
        nn.init.ones_(layer.weight)
        nn.init.zeros_(layer.bias)
