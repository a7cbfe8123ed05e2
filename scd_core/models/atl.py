"""ASN-ATL: ASN with Adaptive Threshold Learning (journal §III-D5, eqs. 10-12).

After ASN is trained, two small convolution series revise its raw outputs (logits, "before softmax"):

    M̂_t = M_t + γ·ψ1(M_t)                      for t = 1, 2      (10)
    Ĉ   = softmax(C + γ·ψ2([M̂_1, M̂_2]))                         (11)

and the model is retrained "with everything else frozen", on eq. (9) computed from the revised outputs
"with categorical weights"; eq. (12) is then eq. (1) on the revised outputs. γ = 0.5, and 0.4 with
the Xception encoder (§VI-A).

Readings chosen where the paper is ambiguous:

* **ψ1, ψ2** ("convolution layer series with length of 2"): 3×3 convolution, ReLU, 3×3 convolution,
  with ``psi_channels`` (16) in between. 3×3 because ATL "explores the logical relationships between
  semantic categories within considered neighbourhood". The last convolution starts at zero, so
  training starts from ASN's own outputs.
* **One change logit**: our change output is the logit ``z`` with ``sigmoid(z)`` the change
  probability; the softmax of eq. (11) over two logits depends only on their difference, so ψ2 has
  one output channel, the correction of ``z``.
* **Categorical weights**: weights of the land-cover *categories* in the semantic terms; the paper
  gives no values. By default each batch's classes are weighted by inverse frequency over its changed
  pixels, normalised to a mean weight of 1; ``semantic_weights`` (N values) sets dataset-wide ones.
  The change term is a binary one, not categorical, and stays unweighted unless ``change_weights``
  (no change, change) is given: weighting it by inverse frequency multiplies the odds of change by
  the no-change/change ratio (about 4 on SECOND), so P(change) ≥ 0.5 would no longer mean "more
  likely changed than not" and τ = 0.5 would over-predict change. Measured on the demo model's
  synthetic scenes (training/configs/demo.yaml): ATL on the trained ASN moved from_to SeK at τ = 0.5
  from 19.2 to 15.7 with the change term weighted that way, and to 21.8 without.
* **Frozen** means frozen parameters *and* frozen batch-norm statistics: ASN stays in eval mode
  whatever mode the whole model is put in.

Training protocol: train ``asn`` (50 epochs in the paper), load its weights into this model's ``asn``
(``model.asn.load_state_dict(...)``), then train this model (20 epochs): only ψ1 and ψ2 require grad.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from scd_core.models.asn import ASN
from scd_core.models.base import ModelOutputs, SCDModel
from scd_core.models.losses import inverse_frequency_weights, scd_loss, semantic_targets

#: γ of eqs. (10), (11) by encoder (§VI-A). The paper tunes γ for its three blocks only; an ImageNet
#: backbone (the demo model's EfficientNet-Lite0) takes :data:`DEFAULT_GAMMA`, the value of two of them.
GAMMA = {"residual": 0.5, "se": 0.5, "xception": 0.4}
DEFAULT_GAMMA = 0.5


class ConvSeries(nn.Sequential):
    """ψ: a series of two 3×3 convolutions with a ReLU between; the last starts at zero."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int) -> None:
        first, last = nn.Conv2d(in_channels, hidden, 3, padding=1), nn.Conv2d(hidden, out_channels, 3, padding=1)
        nn.init.zeros_(last.weight)
        if last.bias is not None:  # always: Conv2d's default
            nn.init.zeros_(last.bias)
        super().__init__(first, nn.ReLU(inplace=True), last)


class ASNWithATL(SCDModel):
    """ASN followed by ATL; only ψ1 and ψ2 train.

    Args:
        gamma: γ of eqs. (10), (11); defaults to :data:`GAMMA` for the encoder.
        psi_channels: hidden channels of ψ1 and ψ2.
        semantic_weights, change_weights: categorical weights of the loss; ``None``: per batch.
        **asn_hparams: the hyper-parameters of the underlying :class:`~scd_core.models.asn.ASN`.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 6,
        *,
        gamma: float | None = None,
        psi_channels: int = 16,
        semantic_weights: Sequence[float] | None = None,
        change_weights: Sequence[float] | None = None,
        **asn_hparams: Any,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.asn = ASN(in_channels, num_classes, **asn_hparams)
        self.asn.requires_grad_(False)
        self.gamma = GAMMA.get(asn_hparams.get("encoder", "residual"), DEFAULT_GAMMA) if gamma is None else gamma
        self.psi1 = ConvSeries(num_classes, psi_channels, num_classes)
        self.psi2 = ConvSeries(2 * num_classes, psi_channels, 1)
        self.semantic_weights = None if semantic_weights is None else tuple(semantic_weights)
        self.change_weights = None if change_weights is None else tuple(change_weights)

    def train(self, mode: bool = True) -> ASNWithATL:
        """Set ψ1 and ψ2's mode; ASN stays in eval mode whatever ``mode`` is, its batch-norm statistics frozen."""
        super().train(mode)
        self.asn.eval()
        return self

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> ModelOutputs:
        """The model's forward pass (eqs. 10-11): ASN's logits revised by γ·ψ1 and γ·ψ2."""
        raw = self.asn(x1, x2)
        sem1 = raw["sem1"] + self.gamma * self.psi1(raw["sem1"])  # eq. 10
        sem2 = raw["sem2"] + self.gamma * self.psi1(raw["sem2"])
        change = raw["change"] + self.gamma * self.psi2(torch.cat([sem1, sem2], dim=1))  # eq. 11
        return {"sem1": sem1, "sem2": sem2, "change": change}

    def loss(self, outputs: Mapping[str, torch.Tensor], label1: torch.Tensor, label2: torch.Tensor) -> torch.Tensor:
        """Eq. (9) on the revised outputs, with categorical weights."""
        device = outputs["change"].device
        if self.semantic_weights is None:
            targets = torch.cat([semantic_targets(label1).flatten(), semantic_targets(label2).flatten()])
            semantic_weight = inverse_frequency_weights(targets, self.num_classes)
        else:
            semantic_weight = torch.tensor(self.semantic_weights, device=device)
        pos_weight = None
        if self.change_weights is not None:
            # Weighting the positives of the BCE by w_change / w_no-change is the weighted two-class CE up to scale.
            change_weight = torch.tensor(self.change_weights, device=device)
            pos_weight = change_weight[1] / change_weight[0]
        return scd_loss(
            outputs, label1, label2, semantic_weight=semantic_weight.to(device), change_pos_weight=pos_weight
        )
