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
* **Categorical weights** ("re-train the model by utilizing the total loss ... with categorical
  weights", to "revise the threshold deflections caused by label imbalance"; the preprint writes the
  revised threshold τ̂ = ½(1+γ) − Δτ): inverse-frequency weights of the categories, normalised to a
  mean of 1 over the present ones (the paper gives no values). They weigh the semantic terms (the
  land-cover categories over changed pixels) *and* the change term (no change, change): label
  imbalance is first of all change against no change, and weighing it is what moves the effective
  threshold toward the rare class (a test trains both and sees it). ``change_term="unweighted"``
  keeps the change term plain: a named variant, which the demo model uses (training/configs/demo.yaml):
  on its synthetic scenes (one run, on an earlier demo ASN) ATL at τ = 0.5 reached
  from_to SeK 21.8 with it and 15.7 with the change term weighted per batch; weighted by the data
  set's counts it has not been measured there.
* **Which statistic**: ``weights="dataset"`` (the paper configs': second_asn_atl.yaml and the ATL rows
  of the tables) counts the categories over the whole training set once (the trainer does, and the
  checkpoint records the weights as ``semantic_weights`` and ``change_weights``); ``"batch"`` (the
  default when the model is built alone) counts each batch. The data set's is the better reading:
  the imbalance ATL corrects is the data's, and per batch every class present weighs as much as any
  other however few its pixels, so a few stray pixels of a class can outweigh a whole building.
  ``semantic_weights`` (N values) and ``change_weights`` (no change, change) given outright win.
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

from scd_core.labels import IGNORE
from scd_core.models.asn import ASN
from scd_core.models.base import ModelOutputs, SCDModel
from scd_core.models.losses import change_targets, class_counts, inverse_frequency, scd_loss, semantic_targets

#: γ of eqs. (10), (11) by encoder (§VI-A). The paper tunes γ for its three blocks only; an ImageNet
#: backbone (the demo model's EfficientNet-Lite0) takes :data:`DEFAULT_GAMMA`, the value of two of them.
GAMMA = {"residual": 0.5, "se": 0.5, "xception": 0.4}
DEFAULT_GAMMA = 0.5
#: Where the categorical weights come from, and how the change term takes them (module docstring).
WEIGHTS = ("batch", "dataset")
CHANGE_TERMS = ("weighted", "unweighted")


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
        weights: where the categorical weights come from, ``"batch"`` or ``"dataset"`` (see above).
        change_term: ``"weighted"`` (the paper) or ``"unweighted"`` (the demo model's variant).
        semantic_weights, change_weights: categorical weights of the loss, given outright.
        **asn_hparams: the hyper-parameters of the underlying :class:`~scd_core.models.asn.ASN`.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 6,
        *,
        gamma: float | None = None,
        psi_channels: int = 16,
        weights: str = "batch",
        change_term: str = "weighted",
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
        if weights not in WEIGHTS or change_term not in CHANGE_TERMS:
            raise ValueError(f"weights takes {WEIGHTS}, change_term {CHANGE_TERMS}; got {weights!r}, {change_term!r}")
        if weights == "dataset" and semantic_weights is None:
            raise ValueError("weights='dataset': the trainer counts the training set and gives semantic_weights")
        self.weights, self.change_term = weights, change_term
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
        """Eq. (9) on the revised outputs, with categorical weights (see the module docstring)."""
        device = outputs["change"].device
        if self.semantic_weights is not None:
            semantic_weight = torch.tensor(self.semantic_weights, device=device)
        else:
            targets = torch.cat([semantic_targets(label1).flatten(), semantic_targets(label2).flatten()])
            semantic_weight = inverse_frequency(class_counts(targets, self.num_classes))
        pos_weight = None
        if self.change_term == "weighted":
            if self.change_weights is not None:
                change_weight = torch.tensor(self.change_weights, device=device)
            else:
                target, valid = change_targets(label1)
                change_weight = inverse_frequency(class_counts(target.long().masked_fill(~valid, IGNORE), 2))
            # the positives of the BCE weighted by w_change / w_no-change: the weighted two-class CE up to scale
            pos_weight = change_weight[1] / change_weight[0].clamp(min=torch.finfo(change_weight.dtype).tiny)
        return scd_loss(
            outputs, label1, label2, semantic_weight=semantic_weight.to(device), change_pos_weight=pos_weight
        )
