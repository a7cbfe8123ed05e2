"""The baselines of ASN Table I: FC-EF, FC-Siam-conc, FC-Siam-diff and HRSCD strategies 1-4.

As in the ASN paper (§VI), every baseline is trained "using backbones with different basic blocks":
all of them share the HRSCD encoder (10 basic blocks of the ``encoder`` type, :mod:`.encoders`) and
decoder (13 residual blocks, :mod:`.decoders`), so Tables I, III and IV compare structures, not sizes.
``encoder`` may also name an ImageNet backbone (EfficientNet-Lite0, ResNet-18/34/50) with the same
six features; the decoders take its widths. FC-EF, HRSCD.str2 and the change branches of str3 and
str4 read the stacked pair, so their backbone's first convolution has twice the bands.

Binary change detectors extended to SCD (FC-*, Daudt et al. ICIP 2018):
    the decoder ends in three 1×1 classifiers (land cover of each date and change,
    :class:`~scd_core.models.heads.SemanticChangeHead`) and trains with eq. (9).

* **FC-EF**: one encoder-decoder on the two images stacked along channels.
* **FC-Siam-conc**: a siamese encoder; the decoder's skips concatenate both dates' features.
* **FC-Siam-diff**: a siamese encoder; the decoder's skips are the absolute differences.

  In both siamese variants the decoder starts from the two bottom features concatenated: the BCD
  originals start from one date's bottom, which would leave the other date's land cover nothing but
  the skips (with differences as skips, nothing at all).

HRSCD (Daudt et al. CVIU 2019), as ASN §III and §VI-A describe the strategies:

* **str1**, the "intuitive solution" (eq. 2): a siamese land-cover network; a pixel changed exactly
  where the two arg-max labels differ, ``l1 ≠ l2``. The exposed change logit is that decision,
  ``±DECISIVE_LOGIT`` (:func:`label_change_logit`), so eq. (1) at any τ in (0, 1) gives eq. (2) and,
  as §III-B says, str1 cannot produce a change between the same class. Only the land-cover terms
  train. Multi-scale and flip testing re-apply :meth:`HRSCDStr1.change_from_semantics` to the merged
  land-cover probabilities rather than averaging decisions.
* **str2**, direct classification: one encoder-decoder on the stacked pair classifies each pixel into
  ``1 + N²`` classes (no change, and each from-to pair), read as its paper reads a segmentation: the
  arg-max over the joint classes. The exposed outputs are built so that eq. (1) with each date's
  arg-max *is* that arg-max (:meth:`HRSCDStr2.outputs_of_joint`): the change logit is
  ``max_{k>0} z_k − z_0`` (the best change class against no change) and each date's land-cover logit
  of a class is the best joint logit of the pairs it is in (``max_j z_ij`` before, ``max_i z_ij``
  after), so the per-date arg-maxes are the best pair's classes. A same-class pair (SECOND has them)
  stays one: ``scd detect`` reads str2 with ``--decode paper`` whatever is asked (``ModelSpec.decoding``),
  since ``distinct`` would move it to another pair. τ applies as a bias on no change: at τ = 0.5 the
  map is exactly the joint arg-max, and another τ adds ``logit(τ)`` to ``z_0`` before it. Test-time
  augmentation averages the joint probabilities and reads them the same way (``training.tta``); the
  engine's tile blending averages the exposed probabilities, so where tiles overlap the map is a blend
  of the tiles' arg-maxes. The joint logits are also returned, as ``change_type``, for the loss: cross
  entropy over the ``1 + N²`` classes. (The exposed land-cover logits are the best pairs', not
  marginals: a per-date score of str2 is that of its joint reading.)
* **str3**, separate land-cover mapping and change detection: a siamese semantic branch and an
  independent change branch (FC-EF), no connection between them.
* **str4**, integrated: as str3, with "difference skip connections from siamese encoders to the
  decoder of change detection branch": each change-decoder skip is ``[E_c, |E_1 - E_2|]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F

from scd_core.labels import IGNORE
from scd_core.models.base import ModelOutputs, SCDModel
from scd_core.models.branches import ChangeBranch, SemanticBranch
from scd_core.models.decoders import Decoder
from scd_core.models.encoders import WIDTH, build_encoder
from scd_core.models.fusion import absolute_difference, concatenated
from scd_core.models.heads import Classifier, SemanticChangeHead
from scd_core.models.losses import change_type_targets, semantic_loss


class FCEF(SCDModel):
    """FC-EF: early fusion, one encoder-decoder on ``[I1, I2]``."""

    def __init__(
        self, in_channels: int = 3, num_classes: int = 6, *, encoder: str = "residual", width: int = WIDTH
    ) -> None:
        super().__init__()
        self.encoder = build_encoder(2 * in_channels, width, encoder)
        channels = self.encoder.channels
        self.decoder = Decoder(channels[-1], channels[:-1], width)
        self.head = SemanticChangeHead(width, num_classes)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> ModelOutputs:
        """The model's forward pass: one encoder-decoder on the stacked pair, then the three classifiers."""
        *skips, bottom = self.encoder(torch.cat([x1, x2], dim=1))
        return self.head(self.decoder(bottom, skips))


class _FCSiam(SCDModel):
    """The FC-Siam pair: a siamese encoder, both dates' deepest features concatenated into one decoder.
    The two differ only in how the dates' skips are fused (``fuse_skips``, ``skip_factor`` channels each)."""

    fuse_skips: Callable[[list[torch.Tensor], list[torch.Tensor]], list[torch.Tensor]]
    skip_factor: int

    def __init__(
        self, in_channels: int = 3, num_classes: int = 6, *, encoder: str = "residual", width: int = WIDTH
    ) -> None:
        super().__init__()
        self.encoder = build_encoder(in_channels, width, encoder)
        channels = self.encoder.channels
        self.decoder = Decoder(2 * channels[-1], [self.skip_factor * c for c in channels[:-1]], width)
        self.head = SemanticChangeHead(width, num_classes)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> ModelOutputs:
        *skips1, bottom1 = self.encoder(x1)
        *skips2, bottom2 = self.encoder(x2)
        bottom = torch.cat([bottom1, bottom2], dim=1)
        return self.head(self.decoder(bottom, self.fuse_skips(skips1, skips2)))


class FCSiamConc(_FCSiam):
    """FC-Siam-conc: siamese encoder, skips ``[E1, E2]``."""

    fuse_skips = staticmethod(concatenated)
    skip_factor = 2


class FCSiamDiff(_FCSiam):
    """FC-Siam-diff: siamese encoder, skips ``|E1 - E2|``."""

    fuse_skips = staticmethod(absolute_difference)
    skip_factor = 1


def _land_cover(branch: SemanticBranch, x: torch.Tensor) -> torch.Tensor:
    *skips, bottom = branch.encoder(x)
    return branch.classifier(branch.decoder(bottom, skips))


#: Magnitude of the change logit of a decision taken by comparing labels (eq. 2): sigmoid(±20) is
#: within 2·10⁻⁹ of 1 or 0, so any threshold τ in (0, 1) keeps the decision.
DECISIVE_LOGIT = 20.0


def label_change_logit(sem1: torch.Tensor, sem2: torch.Tensor) -> torch.Tensor:
    """Eq. (2) as a B×1×H×W change logit: ``+DECISIVE_LOGIT`` where arg-max l1 ≠ arg-max l2, else minus it."""
    differ = sem1.argmax(1, keepdim=True) != sem2.argmax(1, keepdim=True)
    return torch.where(differ, DECISIVE_LOGIT, -DECISIVE_LOGIT).to(sem1.dtype)


class HRSCDStr1(SCDModel):
    """HRSCD strategy 1: siamese land-cover mapping; change exactly where the two labels differ (eq. 2)."""

    #: How the change is derived from the land-cover logits (or probabilities: the arg-max is the same).
    change_from_semantics = staticmethod(label_change_logit)

    def __init__(
        self, in_channels: int = 3, num_classes: int = 6, *, encoder: str = "residual", width: int = WIDTH
    ) -> None:
        super().__init__()
        self.semantic = SemanticBranch(in_channels, num_classes, width, encoder)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> ModelOutputs:
        """The model's forward pass: each date's land cover, and a change logit where their arg-maxes differ (eq. 2)."""
        sem1, sem2 = _land_cover(self.semantic, x1), _land_cover(self.semantic, x2)
        return {"sem1": sem1, "sem2": sem2, "change": label_change_logit(sem1, sem2)}  # eq. (2)

    def loss(self, outputs: Mapping[str, torch.Tensor], label1: torch.Tensor, label2: torch.Tensor) -> torch.Tensor:
        """Only the land-cover mapping trains: cross entropy of each date (changed pixels)."""
        return semantic_loss(outputs["sem1"], label1) + semantic_loss(outputs["sem2"], label2)


class HRSCDStr2(SCDModel):
    """HRSCD strategy 2: direct ``1 + N²``-way classification of the stacked pair."""

    def __init__(
        self, in_channels: int = 3, num_classes: int = 6, *, encoder: str = "residual", width: int = WIDTH
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.encoder = build_encoder(2 * in_channels, width, encoder)
        channels = self.encoder.channels
        self.decoder = Decoder(channels[-1], channels[:-1], width)
        self.classifier = Classifier(width, 1 + num_classes * num_classes)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> ModelOutputs:
        """The model's forward pass: ``1 + N²`` logits of the stacked pair, exposed as its joint arg-max reads."""
        *skips, bottom = self.encoder(torch.cat([x1, x2], dim=1))
        return self.outputs_of_joint(self.classifier(self.decoder(bottom, skips)))

    def outputs_of_joint(self, joint: torch.Tensor) -> ModelOutputs:
        """The three outputs of B×(1+N²)×H×W joint logits (or log-probabilities) whose eq. (1) with
        per-date arg-max at τ = 0.5 is the joint arg-max (module docstring), with ``change_type``."""
        pairs = joint[:, 1:].unflatten(1, (self.num_classes, self.num_classes))  # [from, to]
        return {
            "sem1": pairs.amax(dim=2),
            "sem2": pairs.amax(dim=1),
            "change": joint[:, 1:].amax(dim=1, keepdim=True) - joint[:, :1],
            "change_type": joint,
        }

    def loss(self, outputs: Mapping[str, torch.Tensor], label1: torch.Tensor, label2: torch.Tensor) -> torch.Tensor:
        """Cross entropy over no change and the ``N²`` from-to classes."""
        target = change_type_targets(label1, label2, self.num_classes)
        return F.cross_entropy(outputs["change_type"], target, ignore_index=IGNORE)


class HRSCDStr3(SCDModel):
    """HRSCD strategy 3: a siamese semantic branch and an independent FC-EF change branch."""

    def __init__(
        self, in_channels: int = 3, num_classes: int = 6, *, encoder: str = "residual", width: int = WIDTH
    ) -> None:
        super().__init__()
        self.semantic = SemanticBranch(in_channels, num_classes, width, encoder)
        self.change = ChangeBranch(in_channels, width, encoder)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> ModelOutputs:
        """The model's forward pass: land cover from the siamese branch, change from FC-EF on the stacked pair."""
        *skips, bottom = self.change.encoder(torch.cat([x1, x2], dim=1))
        change = self.change.classifier(self.change.decoder(bottom, skips))
        return {"sem1": _land_cover(self.semantic, x1), "sem2": _land_cover(self.semantic, x2), "change": change}


class HRSCDStr4(SCDModel):
    """HRSCD strategy 4: str3 with skips ``[E_c, |E_1 - E_2|]`` into the change decoder."""

    def __init__(
        self, in_channels: int = 3, num_classes: int = 6, *, encoder: str = "residual", width: int = WIDTH
    ) -> None:
        super().__init__()
        self.semantic = SemanticBranch(in_channels, num_classes, width, encoder)
        skip_widths = [2 * c for c in self.semantic.encoder.channels[:-1]]  # [E_c, |E_1 - E_2|], same encoders
        self.change = ChangeBranch(in_channels, width, encoder, skip_widths)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> ModelOutputs:
        """The model's forward pass: str3 with the change decoder's skips ``[E_c, |E_1 - E_2|]``."""
        semantic = self.semantic
        *skips1, bottom1 = semantic.encoder(x1)
        *skips2, bottom2 = semantic.encoder(x2)
        sem1 = semantic.classifier(semantic.decoder(bottom1, skips1))
        sem2 = semantic.classifier(semantic.decoder(bottom2, skips2))
        *skips_c, bottom_c = self.change.encoder(torch.cat([x1, x2], dim=1))
        skips = concatenated(skips_c, absolute_difference(skips1, skips2))
        change = self.change.classifier(self.change.decoder(bottom_c, skips))
        return {"sem1": sem1, "sem2": sem2, "change": change}
