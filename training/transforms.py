"""Augmentation of the ASN paper (§VI-A): random flips and a random scale between 0.5 and 2.

Both dates and both labels get the same geometry; images are resampled bilinearly, labels by nearest
neighbour so that classes stay classes. A fixed-size random crop (padded with ignored pixels where a
down-scaled sample is smaller) gives batches of equal shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from scd_core.labels import IGNORE

IMAGES = ("image1", "image2")
LABELS = ("label1", "label2")


def flip(sample: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Horizontal and vertical flips, each with probability 1/2."""
    for axis in (-1, -2):
        if torch.rand(()) < 0.5:
            sample = {key: value.flip(axis) for key, value in sample.items()}
    return sample


def rescale(sample: dict[str, torch.Tensor], factor: float) -> dict[str, torch.Tensor]:
    """Resize the sample by ``factor``."""
    height, width = sample["label1"].shape
    size = (max(1, round(height * factor)), max(1, round(width * factor)))
    out = {key: F.interpolate(sample[key][None], size, mode="bilinear", align_corners=False)[0] for key in IMAGES}
    for key in LABELS:
        out[key] = F.interpolate(sample[key][None, None].float(), size, mode="nearest")[0, 0].long()
    return out


def random_crop(sample: dict[str, torch.Tensor], size: int) -> dict[str, torch.Tensor]:
    """A ``size``×``size`` window at a random place; a smaller sample is padded (labels with ``IGNORE``)."""
    height, width = sample["label1"].shape
    pad_h, pad_w = max(0, size - height), max(0, size - width)
    if pad_h or pad_w:
        sample = {
            key: F.pad(value, (0, pad_w, 0, pad_h), value=IGNORE if key in LABELS else 0.0)
            for key, value in sample.items()
        }
        height, width = height + pad_h, width + pad_w
    top = int(torch.randint(0, height - size + 1, ()))
    left = int(torch.randint(0, width - size + 1, ()))
    return {key: value[..., top : top + size, left : left + size] for key, value in sample.items()}


class Augment:
    """Flip, scale by a factor drawn uniformly in ``scale_range``, crop to ``crop``: the paper's recipe.

    Draws come from torch's global generator, which the data loader seeds per worker from the run's
    seed, so a run is repeatable and workers do not repeat each other.
    """

    def __init__(self, crop: int, scale_range: tuple[float, float] = (0.5, 2.0)) -> None:
        self.crop, self.scale_range = crop, scale_range

    def __call__(self, sample: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        sample = flip(sample)
        low, high = self.scale_range
        factor = low + (high - low) * float(torch.rand(()))
        return random_crop(rescale(sample, factor), self.crop)
