"""ASN: the Asymmetric Siamese Network of Yang et al., "Semantic Change Detection with Asymmetric
Siamese Networks" (journal §III-D, §VI-A; preprint §3.4 for the parts the journal shortens).

Overall architecture (Fig. 2; preprint §3.4.1)
    HRSCD.str4's layout (:mod:`.branches`): a siamese semantic branch (encoder E, decoders D1 then D2)
    and a change branch on the stacked pair (E_c, D^c_1 then D^c_2), 10 basic blocks per encoder and 13
    residual blocks per decoder. The difference skip connections of str4 are replaced by summations:
    every skip of the change decoder is ``E_c + E_1 + E_2`` at that level (§VI-A). aSP and aRP sit
    between the 6th and 7th decoder blocks, at stride 4 (:data:`~.decoders.BRIDGE`).

aSP (eqs. 3-6), for t = 1, 2, with one set of weights for both dates (siamese)
    For every spatial index j (dilation d_j) and multiplier index k (r_k), a convolution sequence
    Φ_{j,k} turns the bridge features F^(t) into N_c feature maps φ_{i,j,k}(F^(t)) of c_i·r_k channels;
    each is weighted by v^(t)_{i,j} (eq. 3), and a squeeze gate g_{j,k} fuses them, with F^(t) as its
    skip, into F^(t)_{j,k} (eq. 4). The dense pairs M_{j1,j2,k} = w^(1)_k F^(1)_{j1,k} - w^(2)_k F^(2)_{j2,k}
    (eq. 5) go, after convolutions, to the change decoder. The fusion along j, F^(t)_k = h_k(w^(t)_k ·
    [F^(t)_{1,k} .. F^(t)_{N_d+1,k}], F^(t)_s) (eq. 6), goes to the semantic decoder D2.

aRP (eqs. 7-8)
    The same pyramid (its own weights) on the change branch's bridge features F^c gives F^c_{j,k} and
    F^c_k (eq. 7). M^(t)_k = conv([F^c_k, F^(t)_{1,k} .. F^(t)_{N_d,k}]), with one convolution per k shared
    by both dates, and the dense pairs M^c_{k1,k2} = M^(1)_{k1} - M^(2)_{k2} (eq. 8) go, after
    convolutions, to the change decoder.

Hyper-parameters (§VI-A): spatial {d_j} = {0, 6, 12}, multipliers {r_k} = {16, 32, 64}, channel
factors {c_i} = {1, 2, 3, 4, 5}, every convolution 3×3. Multipliers default to ``(2, 4, 8) × width``,
which is {16, 32, 64} at the default width 8 and shrinks with tiny test models. With these values the
sequences reach 320 channels at stride 4, so aSP and aRP hold most of ASN's parameters and MACs
(``scd models`` lists both).

Readings chosen where the papers are ambiguous
----------------------------------------------
* **N_c, N_d, N_r** are the lengths of the three lists: N_c = len(channel factors) = 5 convolutions
  per sequence, N_d = len(dilations) = 3 spatial levels, N_r = len(multipliers) = 3 ("the length of
  aSP").
* **A convolution sequence** Φ_{j,k} is N_c Conv-BN-ReLU layers in series (a "sequence" with
  "layers"), and φ_{i,j,k}(F) is the output of its i-th layer, so eq. (4) concatenates features of
  increasing depth and width c_i·r_k (1r .. 5r). Applying N_c independent convolutions to F would
  make "sequence" and "length" meaningless.
* **d = 0** means an undilated 3×3 convolution (dilation 1): the paper sets every kernel to 3 and
  calls this the local end of the range; the global end is the separate global feature F_{N_d+1}.
  At stride 4 a sequence of five 3×3 convolutions with d = 12 sees 121 feature pixels (484 image
  pixels), so "receptive fields vary from local to the whole image" of SECOND's 512² tiles.
* **Global features** F_{N_d+1,k}: the preprint's "global pooling and bi-linear interpolation" of
  the pyramid's input (F^(t), or F^c in aRP): average pooling, a 1×1 convolution with ReLU per k, and
  interpolation of the 1×1 map back to H×W, which is a broadcast.
* **Shallow features** F_s: the encoder feature at the bridge's resolution (stride 4) of the same
  input, E_t's for date t and E_c's for the change branch ("shallow features F_s^(t) calculated from
  I_t", "F_s^c calculated from ∪I_t"). They are the skip of h_k and ħ_k, and the input of the branch
  weights, so the paper's "shallow layer" is one layer for both uses. The paper's encoders are as
  wide there as the bridge; an ImageNet backbone's stride-4 feature (``encoder="resnet50"``...) is
  not, and each pyramid first brings it to the bridge width with a 1×1 Conv-BN-ReLU.
* **Branch weights**: one MLP per pyramid (global average pooling of F_s, Linear-ReLU-Linear) gives
  v (N_c·N_d values) and w (N_r values), each normalised by a softmax over all its entries. The
  semantic pyramid's MLP is shared by the two dates, but each date gets its own weights from its own
  shallow features: that is what makes eq. (5) weight the dates differently.
* **Squeeze gates** g_{j,k}, h_k, ħ_k: concatenation of the weighted maps, a 3×3 Conv-BN-ReLU
  squeezing to the bridge width, a 3×3 Conv-BN, the skip added, ReLU (a residual block whose first
  convolution squeezes).
  All gate outputs, F_{j,k}, F_k and M have the bridge width, so the skips are identities and the
  dense pairs of different k can be subtracted.
* **Weights on concatenations**: ``w_k · ∪_j F_{j,k}`` multiplies every concatenated map by w_k.
* **"After the convolution operations"**: the pairs of eq. (5) (all k) are concatenated and passed
  through two 3×3 Conv-BN-ReLU to the bridge width; likewise the pairs of eq. (8). "Concatenation and
  convolution" giving M^(t)_k is one 3×3 Conv-BN-ReLU.
* **How the decoders consume the pyramids**: the semantic stream continues (into D2) as
  Σ_k F^(t)_k, the fusion along j of eq. (6) summed over the pyramid's multipliers (the weights w_k are
  already inside h_k). The change stream continues (into D^c_2) as F^c + aSP's fused pairs + aRP's
  fused pairs: summations, like the skips.
* **Ablations**: ``asp=False, arp=False`` is "w/o-R&S" of Table VI: ASN without both modules,
  HRSCD.str4 with summed skips (aRP is built on aSP's pyramids, so it cannot stay alone).
  ``arp=False`` is "w/o-R". ``asymmetric_pairs=False`` is "w/o-AF" of Table V: only the symmetric
  pairs j1 = j2 (eq. 5) and k1 = k2 (eq. 8) are kept, the multi-scale pyramids stay.
* **Loss**: eq. (9) with α = β = 1 (§VI-A); the semantic terms on changed pixels (SECOND §IV) and the
  change term a binary cross entropy on one logit, which equals the two-class softmax cross entropy.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

import torch
import torch.nn.functional as F
from torch import nn

from scd_core.models.base import ModelOutputs, SCDModel
from scd_core.models.blocks import ConvBNReLU
from scd_core.models.branches import ChangeBranch, SemanticBranch
from scd_core.models.decoders import BRIDGE_LEVEL
from scd_core.models.encoders import WIDTH
from scd_core.models.fusion import summed

#: Spatial hyper-parameters {d_j} (§VI-A); 0 is an undilated convolution.
DILATIONS = (0, 6, 12)
#: Channel hyper-parameters {c_i} (§VI-A).
CHANNEL_FACTORS = (1, 2, 3, 4, 5)
#: Multiplication hyper-parameters {r_k} per unit of width: {16, 32, 64} at width 8 (§VI-A).
MULTIPLIERS_PER_WIDTH = (2, 4, 8)


def _per_sample(weight: torch.Tensor) -> torch.Tensor:
    """A B-vector of weights shaped to scale B×C×H×W features."""
    return weight[:, None, None, None]


class ConvolutionSequence(nn.Module):
    """Φ_{j,k}: 3×3 Conv-BN-ReLU layers in series with dilation d_j; returns every layer's output."""

    def __init__(self, in_channels: int, widths: Sequence[int], dilation: int) -> None:
        super().__init__()
        inputs = [in_channels, *widths[:-1]]
        self.layers = nn.ModuleList(
            ConvBNReLU(a, b, 3, dilation=max(dilation, 1)) for a, b in zip(inputs, widths, strict=True)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's output φ_{i,j,k}(x), i = 1..N_c, shallowest first."""
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        return outputs


class BranchWeights(nn.Module):
    """Normalised branch weights v (eq. 3) and w (eqs. 5-7) from global pooling + MLP on shallow features."""

    def __init__(self, channels: int, num_v: int, num_w: int) -> None:
        super().__init__()
        self.sizes = [num_v, num_w]
        self.mlp = nn.Sequential(
            nn.Linear(channels, channels), nn.ReLU(inplace=True), nn.Linear(channels, num_v + num_w)
        )

    def forward(self, shallow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """v (B×N_c·N_d) and w (B×N_r), each a softmax over its entries, from ``shallow`` pooled globally."""
        v, w = self.mlp(shallow.mean(dim=(2, 3))).split(self.sizes, dim=1)
        return v.softmax(dim=1), w.softmax(dim=1)


class SqueezeGate(nn.Module):
    """g_{j,k}, h_k, ħ_k: concatenate the weighted parts, squeeze with two 3×3 convolutions, add the
    skip, ReLU.

    The first convolution of the concatenation ∪_i s_i·x_i is computed as Σ_i s_i·conv_i(x_i), where
    conv_i is the slice of its kernel that reads part i. A convolution is linear, so the value is the
    same; but neither the weighted parts nor their concatenation is formed, and the per-sample
    weights scale the squeezed maps (bridge width) instead of the wide inputs. That also keeps the
    parts in ONNX Runtime's blocked channel layout, which a product with a per-sample weight leaves:
    formed, every weighted map was reordered to NCHW and their concatenation back to the blocks
    (``benchmarks/bench_runtime.py`` measures the difference).
    """

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.squeeze = nn.Sequential(
            ConvBNReLU(in_channels, channels),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(
        self, parts: Sequence[torch.Tensor], weights: Sequence[torch.Tensor], skip: torch.Tensor
    ) -> torch.Tensor:
        """``parts`` (B×C_i×H×W), weighted by ``weights`` (B×1×1×1 each), squeezed onto ``skip``."""
        unit, conv2, normalise2 = self.squeeze
        first, normalise, activate = cast(ConvBNReLU, unit)
        conv = cast(nn.Conv2d, first)
        kernels = conv.weight.split([part.shape[1] for part in parts], dim=1)
        squeezed = functools.reduce(  # conv(∪_i s_i·x_i) = Σ_i s_i·conv_i(x_i)
            operator.add,
            (
                weight * F.conv2d(part, kernel, None, conv.stride, conv.padding, conv.dilation)
                for part, weight, kernel in zip(parts, weights, kernels, strict=True)
            ),
        )
        return F.relu(normalise2(conv2(activate(normalise(squeezed)))) + skip)


class GlobalContext(nn.Module):
    """F_{N_d+1,k}: global average pooling, 1×1 convolution and ReLU, interpolated back to H×W."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """F_{N_d+1,k} broadcast to ``x``'s height and width (the interpolation of a 1×1 map)."""
        return F.relu(self.project(x.mean(dim=(2, 3), keepdim=True))).expand_as(x)


class PairFusion(nn.Sequential):
    """ "After the convolution operations": concatenated feature pairs → two 3×3 Conv-BN-ReLU."""

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__(ConvBNReLU(in_channels, channels), ConvBNReLU(channels, channels))

    def forward(self, pairs: Sequence[torch.Tensor]) -> torch.Tensor:
        """The pairs concatenated along channels, squeezed to the bridge width."""
        return super().forward(torch.cat(list(pairs), dim=1))


def feature_pairs(count: int, asymmetric: bool) -> list[tuple[int, int]]:
    """Index pairs (a, b) linked across the two inputs: all of them, or only a = b (ASN-w/o-AF)."""
    if asymmetric:
        return [(a, b) for a, b in itertools.product(range(count), repeat=2)]
    return [(a, a) for a in range(count)]


class Pyramid(NamedTuple):
    """One input's spatial feature pyramid."""

    #: ``levels[k][j]`` = F_{j,k} (eq. 4), j < N_d.
    levels: list[list[torch.Tensor]]
    #: ``fused[k]`` = F_k (eqs. 6, 7).
    fused: list[torch.Tensor]
    #: B×N_r normalised branch weights w.
    w: torch.Tensor


class SpatialPyramid(nn.Module):
    """Eqs. (3), (4) and (6)/(7) on one input: the pyramid F_{j,k} and its fusion F_k along j."""

    def __init__(
        self,
        channels: int,
        dilations: Sequence[int],
        multipliers: Sequence[int],
        channel_factors: Sequence[int],
        shallow_channels: int,
    ) -> None:
        super().__init__()
        self.shallow_projection: nn.Module = (
            nn.Identity() if shallow_channels == channels else ConvBNReLU(shallow_channels, channels, 1)
        )
        self.num_c, self.num_d = len(channel_factors), len(dilations)
        self.branch_weights = BranchWeights(channels, self.num_c * self.num_d, len(multipliers))
        self.sequences = nn.ModuleList(
            nn.ModuleList(ConvolutionSequence(channels, [c * r for c in channel_factors], d) for d in dilations)
            for r in multipliers
        )
        self.gates = nn.ModuleList(
            nn.ModuleList(SqueezeGate(sum(channel_factors) * r, channels) for _ in dilations) for r in multipliers
        )
        self.global_context = nn.ModuleList(GlobalContext(channels) for _ in multipliers)
        self.fusion = nn.ModuleList(SqueezeGate((self.num_d + 1) * channels, channels) for _ in multipliers)

    def forward(self, features: torch.Tensor, shallow: torch.Tensor) -> Pyramid:
        """The pyramid of ``features``, weighted by branch weights from the shallow features F_s."""
        shallow = self.shallow_projection(shallow)
        v, w = self.branch_weights(shallow)
        v = v.view(-1, self.num_d, self.num_c)  # v[:, j, i] = v_{i,j}
        levels, fused = [], []
        for k, (sequences, gates) in enumerate(zip(self.sequences, self.gates, strict=True)):
            level = []
            for j, (sequence, gate) in enumerate(
                zip(cast(nn.ModuleList, sequences), cast(nn.ModuleList, gates), strict=True)
            ):
                phis = sequence(features)
                level.append(gate(phis, [_per_sample(v[:, j, i]) for i in range(len(phis))], features))  # eqs. 3, 4
            context = self.global_context[k](features)  # F_{N_d+1,k}
            # eqs. 6, 7: one weight w_k on the whole concatenation, so it is one part
            fused.append(self.fusion[k]([torch.cat([*level, context], dim=1)], [_per_sample(w[:, k])], shallow))
            levels.append(level)
        return Pyramid(levels, fused, w)


class AsymmetricSpatialPyramid(nn.Module):
    """aSP: siamese spatial pyramids of both dates and their dense asymmetric pairs (eqs. 3-6)."""

    def __init__(
        self,
        channels: int,
        dilations: Sequence[int],
        multipliers: Sequence[int],
        channel_factors: Sequence[int],
        shallow_channels: int,
        asymmetric_pairs: bool,
    ) -> None:
        super().__init__()
        self.pyramid = SpatialPyramid(channels, dilations, multipliers, channel_factors, shallow_channels)
        self.pairs = feature_pairs(len(dilations), asymmetric_pairs)
        self.pair_fusion = PairFusion(len(multipliers) * len(self.pairs) * channels, channels)

    def forward(
        self, features1: torch.Tensor, features2: torch.Tensor, shallow1: torch.Tensor, shallow2: torch.Tensor
    ) -> tuple[Pyramid, Pyramid, torch.Tensor]:
        """Both dates' pyramids and the fused pairs M_{j1,j2,k} for the change decoder."""
        p1, p2 = self.pyramid(features1, shallow1), self.pyramid(features2, shallow2)
        pairs = [
            _per_sample(p1.w[:, k]) * p1.levels[k][j1] - _per_sample(p2.w[:, k]) * p2.levels[k][j2]  # eq. 5
            for k in range(len(p1.levels))
            for j1, j2 in self.pairs
        ]
        return p1, p2, self.pair_fusion(pairs)


class AsymmetricRepresentationPyramid(nn.Module):
    """aRP: the change branch's pyramid, siamese representation pyramids M^(t)_k and their pairs (eqs. 7-8)."""

    def __init__(
        self,
        channels: int,
        dilations: Sequence[int],
        multipliers: Sequence[int],
        channel_factors: Sequence[int],
        shallow_channels: int,
        asymmetric_pairs: bool,
    ) -> None:
        super().__init__()
        self.pyramid = SpatialPyramid(channels, dilations, multipliers, channel_factors, shallow_channels)
        self.representations = nn.ModuleList(ConvBNReLU((len(dilations) + 1) * channels, channels) for _ in multipliers)
        self.pairs = feature_pairs(len(multipliers), asymmetric_pairs)
        self.pair_fusion = PairFusion(len(self.pairs) * channels, channels)

    def _representation(self, change: Pyramid, date: Pyramid) -> list[torch.Tensor]:
        """M^(t)_k = conv([F^c_k, F^(t)_{1,k}, ..., F^(t)_{N_d,k}]) for every k."""
        return [
            conv(torch.cat([fused, *level], dim=1))
            for conv, fused, level in zip(self.representations, change.fused, date.levels, strict=True)
        ]

    def forward(self, features: torch.Tensor, shallow: torch.Tensor, p1: Pyramid, p2: Pyramid) -> torch.Tensor:
        """The fused pairs M^c_{k1,k2} for the change decoder."""
        change = self.pyramid(features, shallow)  # F^c_{j,k}, F^c_k: eqs. 3, 4, 7
        m1, m2 = self._representation(change, p1), self._representation(change, p2)
        return self.pair_fusion([m1[k1] - m2[k2] for k1, k2 in self.pairs])  # eq. 8


class ASN(SCDModel):
    """Asymmetric Siamese Network (see the module docstring for the architecture and its readings).

    Args:
        encoder: basic block of the encoders (``"residual"``, ``"xception"``, ``"se"``), or an ImageNet
            backbone (:data:`~scd_core.models.encoders.BACKBONES`).
        width: base width w (channels at full resolution); the bridge has 4w.
        dilations, multipliers, channel_factors: {d_j}, {r_k} (default ``(2w, 4w, 8w)``) and {c_i}.
        asp, arp, asymmetric_pairs: ablation switches (Tables V and VI).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 6,
        *,
        encoder: str = "residual",
        width: int = WIDTH,
        dilations: Sequence[int] = DILATIONS,
        multipliers: Sequence[int] | None = None,
        channel_factors: Sequence[int] = CHANNEL_FACTORS,
        asp: bool = True,
        arp: bool = True,
        asymmetric_pairs: bool = True,
    ) -> None:
        super().__init__()
        if arp and not asp:
            raise ValueError("aRP is built on aSP's pyramids: arp=True needs asp=True")
        if multipliers is None:
            multipliers = [m * width for m in MULTIPLIERS_PER_WIDTH]
        self.semantic = SemanticBranch(in_channels, num_classes, width, encoder)
        self.change = ChangeBranch(in_channels, width, encoder)
        pyramid: dict[str, Any] = {
            "channels": self.semantic.decoder.bridge_channels,
            "dilations": tuple(dilations),
            "multipliers": tuple(multipliers),
            "channel_factors": tuple(channel_factors),
            "shallow_channels": self.semantic.encoder.channels[BRIDGE_LEVEL],  # E_c's are as wide
            "asymmetric_pairs": asymmetric_pairs,
        }
        self.asp = AsymmetricSpatialPyramid(**pyramid) if asp else None
        self.arp = AsymmetricRepresentationPyramid(**pyramid) if arp else None

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> ModelOutputs:
        """The model's forward pass (Fig. 2): D1, D^c_1, then aSP (eqs. 3-6) and aRP (eqs. 7-8), then D2, D^c_2."""
        semantic, change = self.semantic, self.change
        *skips1, bottom1 = semantic.encoder(x1)
        *skips2, bottom2 = semantic.encoder(x2)
        *skips_c, bottom_c = change.encoder(torch.cat([x1, x2], dim=1))
        change_skips = summed(skips_c, skips1, skips2)  # summations instead of difference skips (§VI-A)

        f1, f2 = semantic.decoder.deep(bottom1, skips1), semantic.decoder.deep(bottom2, skips2)  # D1
        fc = change.decoder.deep(bottom_c, change_skips)  # D^c_1
        if self.asp is not None:
            shallow1, shallow2, shallow_c = skips1[BRIDGE_LEVEL], skips2[BRIDGE_LEVEL], skips_c[BRIDGE_LEVEL]
            p1, p2, spatial_pairs = self.asp(f1, f2, shallow1, shallow2)
            into_change = fc + spatial_pairs
            if self.arp is not None:
                into_change = into_change + self.arp(fc, shallow_c, p1, p2)
            f1, f2, fc = sum(p1.fused), sum(p2.fused), into_change

        return {
            "sem1": semantic.classifier(semantic.decoder.shallow(f1, skips1)),  # D2
            "sem2": semantic.classifier(semantic.decoder.shallow(f2, skips2)),
            "change": change.classifier(change.decoder.shallow(fc, change_skips)),  # D^c_2
        }
