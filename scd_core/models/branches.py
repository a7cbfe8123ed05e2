"""The two kinds of branch that HRSCD.str3, HRSCD.str4 and ASN are assembled from.

* A **semantic branch** (encoder E, decoder D, land-cover classifier) maps one image to land-cover
  logits; the same branch, with shared weights, serves both dates (a siamese pair).
* A **change branch** (encoder E_c on the stacked pair, decoder D^c, change classifier) maps the pair
  to change logits. What its decoder's skips carry is the models' choice: E_c's own features
  (HRSCD.str3), those concatenated with the siamese encoders' differences (HRSCD.str4), or summed with
  the siamese encoders' features (ASN); the model says how wide they are.

The branches only hold their parts: each model runs them, so ASN can stop its decoders at the bridge.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from scd_core.models.decoders import Decoder
from scd_core.models.encoders import build_encoder
from scd_core.models.heads import Classifier


class SemanticBranch(nn.Module):
    """E, D and a 1×1 land-cover classifier for one image of ``in_channels`` bands."""

    def __init__(self, in_channels: int, num_classes: int, width: int, encoder: str) -> None:
        super().__init__()
        self.encoder = build_encoder(in_channels, width, encoder)
        channels = self.encoder.channels
        self.decoder = Decoder(channels[-1], channels[:-1], width)
        self.classifier = Classifier(width, num_classes)


class ChangeBranch(nn.Module):
    """E_c on the stacked pair, D^c with skips ``skip_widths`` wide and a 1×1 change classifier.

    ``skip_widths`` defaults to E_c's own feature widths (skips = E_c's features).
    """

    def __init__(self, in_channels: int, width: int, encoder: str, skip_widths: Sequence[int] | None = None) -> None:
        super().__init__()
        self.encoder = build_encoder(2 * in_channels, width, encoder)
        channels = self.encoder.channels
        self.decoder = Decoder(channels[-1], channels[:-1] if skip_widths is None else skip_widths, width)
        self.classifier = Classifier(width, 1)
