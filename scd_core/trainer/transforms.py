"""Augmentation: the ASN paper's random flips and scales (§VI-A), LSAFNet's rotations, and for ``scd train``'s
recipe (:mod:`scd_core.own_data.recipe`) swapped dates and each date's radiometric jitter.

Both dates and both labels get the same geometry; images are resampled bilinearly, labels by nearest
neighbour so that classes stay classes. A fixed-size random crop (padded with ignored pixels where a
down-scaled sample is smaller) gives batches of equal shape. Rotations are by multiples of 90° (the
rotation of SCanNet's preprocessing, ``rand_rot90_flip``, that LSAFNet follows), which keep every pixel.

Every draw comes from the generator passed in, which :mod:`scd_core.trainer.sampling` seeds per sample from
the run's seed, epoch and position, and resampling runs on one thread: a sample's augmentation does not
depend on the worker or process that loads it, so runs repeat and resumed runs continue exactly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from scd_core.labels import IGNORE

IMAGES = ("image1", "image2")
LABELS = ("label1", "label2")
Sample = dict[str, torch.Tensor]


def _coin(generator: torch.Generator) -> bool:
    return bool(torch.rand((), generator=generator) < 0.5)


def flip(sample: Sample, generator: torch.Generator) -> Sample:
    """Horizontal and vertical flips, each with probability 1/2."""
    for axis in (-1, -2):
        if _coin(generator):
            sample = {key: value.flip(axis) for key, value in sample.items()}
    return sample


def rotate(sample: Sample, generator: torch.Generator) -> Sample:
    """A rotation by 0, 90, 180 or 270 degrees, each with probability 1/4 (square samples)."""
    turns = int(torch.randint(0, 4, (), generator=generator))
    return {key: torch.rot90(value, turns, dims=(-2, -1)) for key, value in sample.items()} if turns else sample


def swap_dates(sample: Sample, generator: torch.Generator) -> Sample:
    """BEFORE and AFTER exchanged, with their labels, with probability 1/2: a change read backwards is a
    change, and its from-to pair reads backwards too."""
    if not _coin(generator):
        return sample
    return {
        "image1": sample["image2"],
        "image2": sample["image1"],
        "label1": sample["label2"],
        "label2": sample["label1"],
    }


def radiometric(sample: Sample, generator: torch.Generator, gain: float = 0.15, offset: float = 0.2) -> Sample:
    """Each date's bands scaled by ``1 ± gain`` and shifted by ``± offset`` (standardised units), drawn per date
    and per band: two dates of one place differ in sun, haze and season over the whole scene, and a
    change model must not call that change."""
    out = dict(sample)
    for key in IMAGES:
        bands = sample[key].shape[0]
        scales = 1 + gain * (2 * torch.rand(bands, generator=generator) - 1)
        shifts = offset * (2 * torch.rand(bands, generator=generator) - 1)
        out[key] = sample[key] * scales[:, None, None] + shifts[:, None, None]
    return out


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """torch on one thread inside the block: bilinear resampling splits its work among threads in ways
    that change the last bit of some pixels, and a sample must not depend on who makes it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def rescale(sample: Sample, factor: float) -> Sample:
    """Resize the sample by ``factor``, on one thread as a loader's worker process computes: a sample is
    the same bit for bit whether a worker or the main process makes it, whatever its thread count."""
    height, width = sample["label1"].shape
    size = (max(1, round(height * factor)), max(1, round(width * factor)))
    with _one_thread():
        out = {key: F.interpolate(sample[key][None], size, mode="bilinear", align_corners=False)[0] for key in IMAGES}
        for key in LABELS:
            out[key] = F.interpolate(sample[key][None, None].float(), size, mode="nearest")[0, 0].long()
    return out


def random_crop(sample: Sample, size: int, generator: torch.Generator) -> Sample:
    """A ``size``×``size`` window at a random place; a smaller sample is padded (labels with ``IGNORE``)."""
    height, width = sample["label1"].shape
    pad_h, pad_w = max(0, size - height), max(0, size - width)
    if pad_h or pad_w:
        sample = {
            key: F.pad(value, (0, pad_w, 0, pad_h), value=IGNORE if key in LABELS else 0.0)
            for key, value in sample.items()
        }
        height, width = height + pad_h, width + pad_w
    top = int(torch.randint(0, height - size + 1, (), generator=generator))
    left = int(torch.randint(0, width - size + 1, (), generator=generator))
    return {key: value[..., top : top + size, left : left + size] for key, value in sample.items()}


class Augment:
    """Flip, scale by a factor drawn uniformly in ``scale_range``, crop to ``crop``, rotate: the recipes'
    augmentations, each switched by the config (``flip``, ``scale_range``, ``rotate``)."""

    def __init__(
        self,
        crop: int,
        scale_range: tuple[float, float] | None = (0.5, 2.0),
        flips: bool = True,
        rotations: bool = False,
    ) -> None:
        self.crop, self.scale_range, self.flips, self.rotations = crop, scale_range, flips, rotations

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        """``sample`` augmented with draws from ``generator``."""
        if self.flips:
            sample = flip(sample, generator)
        if self.scale_range is not None:
            low, high = self.scale_range
            sample = rescale(sample, low + (high - low) * float(torch.rand((), generator=generator)))
        sample = random_crop(sample, self.crop, generator)
        return rotate(sample, generator) if self.rotations else sample
