"""LSAFNet: a late-stage bitemporal feature fusion network for semantic change detection.

Zhou, Zhang, Guo, Zou and Shi, "A Late-Stage Bitemporal Feature Fusion Network for Semantic Change
Detection" (IEEE GRSL 2024). Equation numbers in comments are the paper's.

Each date goes through its own encoder-decoder without meeting the other (Fig. 2a): a ResNet-34
encoder trained from scratch, the semantic fusion module (SFM, eqs. 1-2) built from local-global
attentional aggregation (LGAA, eqs. 3-5), and a semantic-segmentation (SS) decoder that starts with
local-global context enhancement (LGCE, eqs. 6-8). Only then does the change-detection (CD) decoder
fuse the two dates' decoded features (eqs. 9-14). Training minimises eq. (18):
``L_BCD + 0.5 · (L_SS1 + L_SS2) + L_SC``.

Readings where the paper leaves a choice open:

* **Siamese weights.** The SS decoders are weight-sharing (§II-C); we share the encoder and the SFM as
  well, so the two dates go through one and the same SS network (the usual siamese design).
* **Attention layout (eqs. 3-4, 6-7).** Written inside out, ``Conv(BN(ReLU(Conv(BN(·)))))`` would
  normalise the pooled vector before any convolution; we read the operators left to right, as in the
  attentional feature fusion the paper cites [14]: point-wise Conv → BN → ReLU → point-wise Conv → BN,
  with a channel reduction of 4 in the hidden layer (the paper gives none; 4 is the usual choice in
  [14]). The global branch normalises B pooled vectors, so training needs batches of 2 or more.
* **SFM resampling (eqs. 1-2).** The coarser map is brought to the finer one's size by bilinear
  up-sampling after its 1×1 Conv-BN-ReLU, which also sets its channels to the finer map's.
* **Eq. (9)** ``LGAA(F'_H1 + F'_H2)`` is the two-input LGAA of eq. (5) applied to ``F'_H1`` and
  ``F'_H2`` (the text: "the same LGAA module ... to merge high-level feature maps from both temporal
  branches").
* **ConvBlock f(·,·) (§II-C, after [10]).** Bilinear up-sampling of the coarser input, concatenation,
  two residual blocks (the first projects to the output width), then a 3×3 depthwise Conv-BN-ReLU.
  It outputs as many channels as its finer input has, so the SS decoder runs at ``F_H`` → ``F_M`` →
  ``F_L`` widths (2w → w → w, w = ``width``); eq. (10) reduces ``F̃_H`` to w channels.
* **Decoder widths and size.** The letter gives no decoder width. Ours follow the encoder's features
  as above: at w = 64 the SFM and both decoders hold 1.11 M parameters (SFM 0.25 M, SS decoder 0.45 M,
  CD decoder 0.41 M), and with the ResNet-34 encoder (21.28 M, torchvision's count without its
  classifier) the model has 22.39 M. The authors' release (RSISCD) has wider decoders, about 6.6 M;
  the letter's figures may owe something to them.
* **Classifiers.** A 1×1 convolution on the stride-2 features ``F'_L`` (SS) and ``F_C`` (CD),
  bilinearly up-sampled to the input size. The CD classifier gives one logit (eq. 16 is a binary
  cross entropy).
* **Loss.** ``L_SS`` (eq. 15) is cross entropy on changed pixels only ("we ignore the no-change
  class"). ``L_SC`` (eq. 17, from Bi-SRNet [3]) compares the two dates' softmax probability vectors of
  each pixel, so the cosine lies in [0, 1]. Eq. (17) as printed pulls *changed* pixels together;
  its source [3] and its stated purpose (semantic consistency) pull *unchanged* pixels together and
  push changed ones apart, and so do we: ``1 − cos`` where unchanged, ``cos`` where changed.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from scd_core.models.base import ModelOutputs, SCDModel
from scd_core.models.blocks import ConvBNReLU, ResidualBlock, resize_like
from scd_core.models.heads import Classifier
from scd_core.models.losses import change_loss, change_targets, semantic_loss
from scd_core.models.resnet import ResNet34, kaiming_init

__all__ = ["LSAFNet", "semantic_consistency_loss"]

#: Hidden-channel reduction of the local and global attention branches (r of [14]).
ATTENTION_REDUCTION = 4


class LocalGlobalChannelAttention(nn.Module):
    """``Sigmoid(w_1 + w_2)``: per-channel weights from global (eq. 3/6) and local (eq. 4/7) context.

    Both branches are point-wise Conv → BN → ReLU → Conv → BN; the global one runs on the global
    average pool, the local one at every pixel, and their sum is broadcast over the image.
    """

    def __init__(self, channels: int, reduction: int = ATTENTION_REDUCTION) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)

        def branch() -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(channels, hidden, 1, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU(inplace=True),
                nn.Conv2d(hidden, channels, 1, bias=False),
                nn.BatchNorm2d(channels),
            )

        self.global_context = branch()
        self.local_context = branch()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w_1 = self.global_context(F.adaptive_avg_pool2d(x, 1))  # eq. (3)/(6)
        w_2 = self.local_context(x)  # eq. (4)/(7)
        return torch.sigmoid(w_1 + w_2)


class LGAA(nn.Module):
    """Local-global attentional aggregation: a soft per-channel choice between two maps (eqs. 3-5)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.attention = LocalGlobalChannelAttention(channels)

    def forward(self, f_i: torch.Tensor, f_j: torch.Tensor) -> torch.Tensor:
        weight = self.attention(f_i + f_j)  # Sigmoid(w_1 + w_2), eqs. (3)-(4)
        return f_i * weight + f_j * (1 - weight)  # eq. (5)


class LGCE(nn.Module):
    """Local-global context enhancement: per-channel re-weighting of ``F_H`` (eqs. 6-8)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.attention = LocalGlobalChannelAttention(channels)

    def forward(self, f_h: torch.Tensor) -> torch.Tensor:
        return f_h * self.attention(f_h)  # eq. (8)


class SemanticFusionModule(nn.Module):
    """SFM: aggregates ``F_3`` into ``F_2`` and the result into ``F_1`` with LGAA (eqs. 1-2)."""

    def __init__(self, c1: int, c2: int, c3: int) -> None:
        super().__init__()
        self.reduce_3 = ConvBNReLU(c3, c2, kernel_size=1)
        self.fuse_2 = LGAA(c2)
        self.reduce_2 = ConvBNReLU(c2, c1, kernel_size=1)
        self.fuse_1 = LGAA(c1)

    def forward(self, f_1: torch.Tensor, f_2: torch.Tensor, f_3: torch.Tensor) -> torch.Tensor:
        f_2 = self.fuse_2(f_2, resize_like(self.reduce_3(f_3), f_2))  # eq. (1): F'_2
        return self.fuse_1(f_1, resize_like(self.reduce_2(f_2), f_1))  # eq. (2): F_H


class ConvBlock(nn.Module):
    """``f(high, low)`` of §II-C: up-sample, concatenate, two residual blocks, depthwise convolution."""

    def __init__(self, high_channels: int, low_channels: int, out_channels: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            ResidualBlock(high_channels + low_channels, out_channels), ResidualBlock(out_channels, out_channels)
        )
        self.depthwise = ConvBNReLU(out_channels, out_channels, kernel_size=3, groups=out_channels)

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        return self.depthwise(self.residual(torch.cat([resize_like(high, low), low], dim=1)))


class SemanticDecoder(nn.Module):
    """SS decoder (Fig. 2d): LGCE on ``F_H``, then two ConvBlocks with ``F_M`` and ``F_L``.

    Returns the decoded ``(F'_H, F'_M, F'_L)`` that the CD decoder fuses across dates.
    """

    def __init__(self, low_channels: int, mid_channels: int, high_channels: int) -> None:
        super().__init__()
        self.enhance = LGCE(high_channels)
        self.up_mid = ConvBlock(high_channels, mid_channels, mid_channels)
        self.up_low = ConvBlock(mid_channels, low_channels, low_channels)

    def forward(
        self, f_l: torch.Tensor, f_m: torch.Tensor, f_h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f_h = self.enhance(f_h)  # eq. (8): F'_H
        f_m = self.up_mid(f_h, f_m)  # F'_M
        return f_h, f_m, self.up_low(f_m, f_l)  # F'_L


class ChangeDecoder(nn.Module):
    """CD decoder (Fig. 2b): LGAA across dates on ``F'_H``, then absolute differences below (eqs. 9-14)."""

    def __init__(self, low_channels: int, mid_channels: int, high_channels: int) -> None:
        super().__init__()
        self.merge = LGAA(high_channels)
        self.reduce = ConvBNReLU(high_channels, mid_channels, kernel_size=1)
        self.up_mid = ConvBlock(mid_channels, mid_channels, mid_channels)
        self.up_low = ConvBlock(mid_channels, low_channels, low_channels)

    def forward(self, decoded_1: tuple[torch.Tensor, ...], decoded_2: tuple[torch.Tensor, ...]) -> torch.Tensor:
        (h_1, m_1, l_1), (h_2, m_2, l_2) = decoded_1, decoded_2
        f_h = self.reduce(self.merge(h_1, h_2))  # eqs. (9)-(10): F̃'_H
        f_m = torch.abs(m_1 - m_2)  # eq. (11): F̃'_M
        f_l = torch.abs(l_1 - l_2)  # eq. (12): F̃'_L
        return self.up_low(self.up_mid(f_h, f_m), f_l)  # eqs. (13)-(14): F_C


def semantic_consistency_loss(sem1: torch.Tensor, sem2: torch.Tensor, label1: torch.Tensor) -> torch.Tensor:
    """``L_SC`` of eq. (17) (Bi-SRNet's semantic consistency loss), averaged over non-ignored pixels.

    ``cos`` is the cosine between the two dates' softmax probability vectors of a pixel: the loss is
    ``1 − cos`` where the ground truth says unchanged and ``cos`` where it says changed.
    """
    cosine = F.cosine_similarity(sem1.softmax(1), sem2.softmax(1), dim=1)
    changed, valid = change_targets(label1)
    per_pixel = torch.where(changed.bool(), cosine, 1 - cosine)
    return (per_pixel * valid).sum() / valid.sum().clamp(min=1)


class LSAFNet(SCDModel):
    """LSAFNet (Fig. 2a): siamese ResNet-34 + SFM + SS decoder per date, late-stage CD decoder.

    Args:
        in_channels: image bands.
        num_classes: land-cover classes of each date's semantic map.
        width: ResNet-34 base width (64 in the paper); every decoder width follows from it.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 6, width: int = 64) -> None:
        super().__init__()
        self.encoder = ResNet34(in_channels, width)
        c_l, c_m, c_1, c_2, c_3 = self.encoder.channels
        self.sfm = SemanticFusionModule(c_1, c_2, c_3)
        self.semantic_decoder = SemanticDecoder(c_l, c_m, c_1)
        self.semantic_classifier = Classifier(c_l, num_classes)
        self.change_decoder = ChangeDecoder(c_l, c_m, c_1)
        self.change_classifier = Classifier(c_l, 1)
        kaiming_init(self)  # §III-B: the whole network starts from Kaiming initialisation

    def _decode(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        f_l, f_m, f_1, f_2, f_3 = self.encoder(x)
        return self.semantic_decoder(f_l, f_m, self.sfm(f_1, f_2, f_3))

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> ModelOutputs:
        """The model's forward pass (eqs. 1-14): ResNet-34, SFM and SS decoder per date; CD decoder on both."""
        decoded_1, decoded_2 = self._decode(x1), self._decode(x2)
        change = self.change_classifier(self.change_decoder(decoded_1, decoded_2))
        return {
            "sem1": resize_like(self.semantic_classifier(decoded_1[-1]), x1),  # X_1
            "sem2": resize_like(self.semantic_classifier(decoded_2[-1]), x2),  # X_2
            "change": resize_like(change, x1),  # X_C
        }

    def loss(self, outputs: Mapping[str, torch.Tensor], label1: torch.Tensor, label2: torch.Tensor) -> torch.Tensor:
        """Eq. (18): ``L_BCD + 0.5 · (L_SS1 + L_SS2) + L_SC``."""
        l_bcd = change_loss(outputs["change"], label1)  # eq. (16)
        l_ss = semantic_loss(outputs["sem1"], label1) + semantic_loss(outputs["sem2"], label2)  # eq. (15)
        l_sc = semantic_consistency_loss(outputs["sem1"], outputs["sem2"], label1)  # eq. (17)
        return l_bcd + 0.5 * l_ss + l_sc
