"""From images to model inputs and from model outputs to maps, the same for every model."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from scd_core.models import STRIDE


def pad_to_multiple(x: torch.Tensor, multiple: int = STRIDE) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the bottom and right of B×C×H×W ``x`` so H and W divide by ``multiple``.

    Returns the padded tensor and the original ``(H, W)`` to crop outputs back with.
    """
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return x, (height, width)


def forward_padded(
    model: nn.Module, x1: torch.Tensor, x2: torch.Tensor, multiple: int = STRIDE
) -> dict[str, torch.Tensor]:
    """Run ``model`` on a pair of any size: pad both to ``multiple``, crop every output back to H×W."""
    padded1, (height, width) = pad_to_multiple(x1, multiple)
    padded2, _ = pad_to_multiple(x2, multiple)
    return {key: value[..., :height, :width] for key, value in model(padded1, padded2).items()}


def class_maps(outputs: Mapping[str, torch.Tensor], tau: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-date SECOND class maps of ASN eq. (1) / eq. (12).

    0 (no change) where the change probability is below ``tau``, else the arg-max land-cover class
    1..num_classes of each date. Returns two B×H×W uint8 tensors.
    """
    changed = torch.sigmoid(outputs["change"][:, 0].float()) >= tau
    before = (outputs["sem1"].argmax(1) + 1) * changed
    after = (outputs["sem2"].argmax(1) + 1) * changed
    return before.to(torch.uint8), after.to(torch.uint8)
