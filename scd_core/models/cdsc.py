"""CdSC: the cross-difference semantic consistency network for semantic change detection.

Wang, Jing, Chi and Yuan, "Cross-Difference Semantic Consistency Network for Semantic Change
Detection" (IEEE TGRS 2024). Equation numbers in comments are the paper's.

A weight-sharing hierarchical transformer encodes both dates (Fig. 2). At each of its four levels
the 3D-Cross-Difference module (eqs. 2, 9-11) interleaves the two dates' channels, runs a 3×3×3
convolution across (channel, height, width) and a 3×3 convolution. An MLP semantic head turns each
date's features into a land-cover map and semantic features (eq. 3); the Semantic Context
Enhancement (SCE) module turns the cross-difference of those semantic features into a spatial
attention map over the difference features (eqs. 4, 12-14); the change head of eq. (6) classifies
them (eq. 5). Training minimises eq. (18): ``L_s + L_c + L_sca`` with the Semantic Co-Alignment loss
of eq. (17), α = 0.8.

Readings where the paper leaves a choice open:

* **Encoder** (:mod:`scd_core.models.mit`): MiT-b2, widths ``width × (1, 2, 5, 8)`` and depths
  (3, 4, 6, 3). The paper gives no size: it describes a weight-sharing hierarchical transformer in
  the manner of [16] (ChangeFormer, depths (3, 3, 4, 3)), but its figures were trained with the
  authors' released code ("trained ... using publicly available code", §IV-B), whose encoder is MiT-b2.
  To reproduce the paper's table the encoder must be the one that produced it, so b2 is the default;
  ``depths=(3, 3, 4, 3)`` builds ChangeFormer's.
* **Size**: 33.95 M parameters at the defaults, 24.20 M of them the encoder (SegFormer's figure for
  MiT-B2). The authors' release counts 38.6 M: its heads are wider than the paper's description,
  which gives no widths, and ours are sized as below (9.76 M, mostly the four 3D-Cross-Difference
  modules and their fusion).
* **Semantic head (eq. 3)**: SegFormer's all-MLP decoder, the design the paper describes ("MLP layers,
  coupled with upsampling and concatenation"): each level is projected to ``4 × width`` channels
  (256 by default) by a point-wise linear layer (a 1×1 convolution), up-sampled to stride 4,
  concatenated and fused by a 1×1 Conv-BN-ReLU into ``X_s``; a 1×1 convolution classifies ``X_s``
  into ``P_s``.
* **3D-Cross-Difference (eqs. 9-11)**: the stitched B×2C×H×W tensor is read as a one-channel volume of
  depth 2C, so the 3×3×3 kernel slides over channels and space (eq. 10); its output volume is read back
  as 2C channels, which the 3×3 convolution of eq. (11) reduces to C. Each convolution is followed by
  batch normalisation and ReLU: without a non-linearity between them, eqs. (10)-(11) would collapse
  into one linear map.
* **Multi-level differences (eq. 2 → eq. 4)**: the four ``X_diff^i`` are merged into the one
  ``X_diff`` of eq. (4) by the same MLP fusion as the semantic head (own weights), at stride 4.
* **SCE (eqs. 12-14)**: ``X_sd`` is a 3D-Cross-Difference of ``X_s^1`` and ``X_s^2`` (own weights);
  the attention map ``σ(K_7×7([max_c X_sd ‖ mean_c X_sd]))`` multiplies ``X_diff`` at every channel.
* **Change head (eq. 6)**: ``K_1×1(ReLU(K_3×3(·)))`` with one output logit, the binary classifier whose
  sigmoid is ``p`` in eq. (16); no normalisation, as printed.
* **Outputs** ``P_s`` and ``P_bcd`` are bilinearly up-sampled from stride 4 to the input size.
* **L_s (eq. 15)** is cross entropy on changed pixels only (SECOND labels no land cover elsewhere),
  averaged over the two dates.
* **L_sca (eq. 17)**: ``p_1``, ``p_2`` are softmax probability maps and ``cos`` is the per-pixel cosine
  over classes, averaged over all non-ignored pixels. Masking by ``y`` (or ``1 − y``) zeroes the
  vectors of the other pixels, whose cosine counts as 0. Changed pixels thus add ``α · cos`` (pushed
  apart) and unchanged pixels ``−(1 − α) · cos`` (pulled together), so the loss lies in
  [−(1 − α), α].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from scd_core.models.base import ModelOutputs, SCDModel
from scd_core.models.blocks import ConvBNReLU, resize_like
from scd_core.models.heads import Classifier
from scd_core.models.losses import change_loss, change_targets, semantic_loss
from scd_core.models.mit import MIT_B2_DEPTHS, HierarchicalTransformer

__all__ = ["CdSC", "cross_stitch", "semantic_co_alignment_loss"]

#: Balancing factor α of the SCA loss, "empirically set to 0.8" (eq. 17).
SCA_ALPHA = 0.8


def cross_stitch(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """Channel-wise cross stitch ``F_cs`` (eq. 9): channels interleaved as ``x1[0], x2[0], x1[1], ...``."""
    return torch.stack([x1, x2], dim=2).flatten(1, 2)


class CrossDifference3D(nn.Module):
    """3D-Cross-Difference ``X_1 Θ X_2`` (Fig. 3c): cross stitch, 3×3×3 convolution, 3×3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv3d = nn.Sequential(nn.Conv3d(1, 1, 3, padding=1, bias=False), nn.BatchNorm3d(1), nn.ReLU(inplace=True))
        self.conv2d = ConvBNReLU(2 * channels, channels, kernel_size=3)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        stitched = cross_stitch(x1, x2)  # eq. (9): X_cs
        volume = self.conv3d(stitched.unsqueeze(1)).squeeze(1)  # eq. (10): K_3D^{3×3×3}(X_cs)
        return self.conv2d(volume)  # eq. (11): K_3×3(X_diff)


class MLPFusion(nn.Module):
    """All-MLP multi-level fusion: point-wise projection, up-sampling to the finest level, concat, 1×1 fuse."""

    def __init__(self, in_channels: Sequence[int], embed_dim: int) -> None:
        super().__init__()
        self.project = nn.ModuleList(nn.Conv2d(c, embed_dim, 1) for c in in_channels)
        self.fuse = ConvBNReLU(len(in_channels) * embed_dim, embed_dim, kernel_size=1)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        projected = [resize_like(proj(f), features[0]) for proj, f in zip(self.project, features, strict=True)]
        return self.fuse(torch.cat(projected, dim=1))


class SemanticHead(nn.Module):
    """``H_s`` (eq. 3): ``P_s, X_s`` from one date's four encoder levels."""

    def __init__(self, in_channels: Sequence[int], embed_dim: int, num_classes: int) -> None:
        super().__init__()
        self.fusion = MLPFusion(in_channels, embed_dim)
        self.classifier = Classifier(embed_dim, num_classes)

    def forward(self, features: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        x_s = self.fusion(features)
        return self.classifier(x_s), x_s


class DifferenceDecoder(nn.Module):
    """``X_diff^i = X_1^i Θ X_2^i`` at every level (eq. 2), fused into one stride-4 ``X_diff``."""

    def __init__(self, in_channels: Sequence[int], embed_dim: int) -> None:
        super().__init__()
        self.differences = nn.ModuleList(CrossDifference3D(c) for c in in_channels)
        self.fusion = MLPFusion(in_channels, embed_dim)

    def forward(self, features1: Sequence[torch.Tensor], features2: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.fusion([diff(a, b) for diff, a, b in zip(self.differences, features1, features2, strict=True)])


class SemanticContextEnhancement(nn.Module):
    """SCE ``F_sce(X_s^1, X_diff, X_s^2)`` (eq. 4, Fig. 4): spatial attention from the semantic difference."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.semantic_difference = CrossDifference3D(channels)
        self.gate = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x_s1: torch.Tensor, x_diff: torch.Tensor, x_s2: torch.Tensor) -> torch.Tensor:
        x_sd = self.semantic_difference(x_s1, x_s2)  # eq. (12)
        pooled = torch.cat([x_sd.amax(1, keepdim=True), x_sd.mean(1, keepdim=True)], dim=1)  # eq. (13)
        attention = torch.sigmoid(self.gate(pooled))  # eqs. (13)-(14): G(M_max ‖ M_avg)
        return x_diff * attention


class ChangeHead(nn.Sequential):
    """``H_c`` of eq. (6): ``K_1×1(δ(K_3×3(X̃_diff)))`` with one change logit."""

    def __init__(self, channels: int) -> None:
        super().__init__(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(channels, 1, 1))


def semantic_co_alignment_loss(
    sem1: torch.Tensor, sem2: torch.Tensor, label1: torch.Tensor, alpha: float = SCA_ALPHA
) -> torch.Tensor:
    """``L_sca`` of eq. (17) on softmax maps, per-pixel cosine over classes, mean over non-ignored pixels."""
    p_1, p_2 = sem1.softmax(1), sem2.softmax(1)
    changed, valid = change_targets(label1)
    y, valid = changed.unsqueeze(1), valid.float()
    cos_changed = F.cosine_similarity(p_1 * y, p_2 * y, dim=1)
    cos_unchanged = F.cosine_similarity(p_1 * (1 - y), p_2 * (1 - y), dim=1)
    per_pixel = alpha * cos_changed - (1 - alpha) * cos_unchanged  # eq. (17)
    return (per_pixel * valid).sum() / valid.sum().clamp(min=1)


class CdSC(SCDModel):
    """CdSC (Fig. 2): siamese hierarchical transformer, 3D-Cross-Difference, SCE, semantic and change heads.

    ``change`` is the logit of the binary classifier of eq. (6) (probability = sigmoid).

    Args:
        in_channels: image bands.
        num_classes: land-cover classes of each date's semantic map.
        width: first encoder stage's channels (64 by default); heads run at ``4 × width`` channels.
        depths: transformer blocks in each of the four encoder stages.
        alpha: balancing factor of the SCA loss (eq. 17).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 6,
        width: int = 64,
        depths: tuple[int, ...] = MIT_B2_DEPTHS,
        alpha: float = SCA_ALPHA,
    ) -> None:
        super().__init__()
        self.alpha = alpha
        self.encoder = HierarchicalTransformer(in_channels, width, tuple(depths))
        embed_dim = 4 * width
        self.semantic_head = SemanticHead(self.encoder.channels, embed_dim, num_classes)
        self.difference_decoder = DifferenceDecoder(self.encoder.channels, embed_dim)
        self.sce = SemanticContextEnhancement(embed_dim)
        self.change_head = ChangeHead(embed_dim)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> ModelOutputs:
        """The model's forward pass (eqs. 2-6): each date's semantic map, their cross-difference, SCE, change."""
        features1, features2 = self.encoder(x1), self.encoder(x2)
        p_s1, x_s1 = self.semantic_head(features1)  # eq. (3), t = 1
        p_s2, x_s2 = self.semantic_head(features2)  # eq. (3), t = 2
        x_diff = self.difference_decoder(features1, features2)  # eq. (2)
        p_bcd = self.change_head(self.sce(x_s1, x_diff, x_s2))  # eqs. (4)-(6)
        return {"sem1": resize_like(p_s1, x1), "sem2": resize_like(p_s2, x1), "change": resize_like(p_bcd, x1)}

    def loss(self, outputs: Mapping[str, torch.Tensor], label1: torch.Tensor, label2: torch.Tensor) -> torch.Tensor:
        """Eq. (18): ``L_s + L_c + L_sca``."""
        l_s = 0.5 * (semantic_loss(outputs["sem1"], label1) + semantic_loss(outputs["sem2"], label2))  # eq. (15)
        l_c = change_loss(outputs["change"], label1)  # eq. (16)
        l_sca = semantic_co_alignment_loss(outputs["sem1"], outputs["sem2"], label1, self.alpha)  # eq. (17)
        return l_s + l_c + l_sca
