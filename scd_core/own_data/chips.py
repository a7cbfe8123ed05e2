"""Chips for training and tiles for validation, drawn from the labelled pixels of the pairs in memory.

**Training chips** are drawn at random, a function of the run's seed and the sample's position alone
(:class:`~scd_core.trainer.sampling.EpochSampler` hands each its seed), so runs repeat and resume
exactly. A chip is centred on a labelled pixel of a pair chosen in proportion to its labelled pixels;
with probability ``change_share`` that pixel is a changed one. Change is rare in real scenes (0.3-3 %
of OSCD's pixels): uniform chips would show the change head almost none, and it would learn that
nothing ever changes. Chips get random flips and quarter turns (overhead imagery has no up), the dates
swapped half the time (a change read backwards is a change) and each date's bands jittered in gain and
offset (:func:`~scd_core.trainer.transforms.radiometric`: a scene-wide difference of light is not change).

**Validation** never sees a pixel a training chip can reach (:func:`split_regions`): with a ``split``
column, whole pairs; else, with five pairs or more, whole pairs drawn by the seed (a fifth of them);
else a stripe of each pair (its last fifth of rows, or of columns when it is wider than tall), with the
training chips kept inside the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from scd_core.labels import IGNORE, NO_CHANGE
from scd_core.trainer.transforms import Sample, flip, radiometric, rotate, swap_dates

#: Validation tiles' longest side: whole pairs are scored in tiles of at most this many pixels a side.
VAL_TILE = 512


@dataclass(frozen=True)
class Region:
    """A window of a pair in memory: its arrays cut to the window (2×C×h×w images, h×w labels)."""

    pair: str
    images: np.ndarray
    label1: np.ndarray
    label2: np.ndarray


def split_regions(
    pair: str, images: np.ndarray, label1: np.ndarray, label2: np.ndarray, fraction: float
) -> tuple[Region, Region]:
    """A pair cut into its training part and its validation stripe (see the module docstring)."""
    height, width = label1.shape
    axis = 0 if height >= width else 1
    length = label1.shape[axis]
    cut = length - max(1, round(length * fraction))
    parts = []
    for part in (slice(0, cut), slice(cut, length)):
        index = (part, slice(None)) if axis == 0 else (slice(None), part)
        parts.append(Region(pair, images[:, :, index[0], index[1]], label1[index], label2[index]))
    return parts[0], parts[1]


def _sample(region: Region, top: int, left: int, size: int) -> Sample:
    """The ``size``² window at (top, left), padded with ignored pixels where it leaves the region."""
    height, width = region.label1.shape
    bottom, right = min(top + size, height), min(left + size, width)
    top, left = max(top, 0), max(left, 0)
    images = np.zeros((2, region.images.shape[1], size, size), np.float32)
    labels = np.full((2, size, size), IGNORE, np.int64)
    images[:, :, : bottom - top, : right - left] = region.images[:, :, top:bottom, left:right]
    labels[0, : bottom - top, : right - left] = region.label1[top:bottom, left:right]
    labels[1, : bottom - top, : right - left] = region.label2[top:bottom, left:right]
    return {
        "image1": torch.from_numpy(images[0]),
        "image2": torch.from_numpy(images[1]),
        "label1": torch.from_numpy(labels[0]),
        "label2": torch.from_numpy(labels[1]),
    }


class TrainingChips(Dataset):
    """``chips`` random chips an epoch from the training regions (see the module docstring)."""

    def __init__(self, regions: list[Region], chips: int, size: int, change_share: float) -> None:
        self.regions, self.chips, self.size, self.change_share = regions, chips, size, change_share
        self.labelled = [np.flatnonzero(r.label1 != IGNORE) for r in regions]
        self.changed = [np.flatnonzero((r.label1 != IGNORE) & (r.label1 != NO_CHANGE)) for r in regions]
        counts = np.array([len(indices) for indices in self.labelled], dtype=np.float64)
        self.weights = counts / counts.sum()

    def __len__(self) -> int:
        return self.chips

    def __getitem__(self, key: tuple[int, int]) -> Sample:
        _, seed = key
        rng = np.random.default_rng(seed)
        number = int(rng.choice(len(self.regions), p=self.weights))
        region = self.regions[number]
        pool = self.changed[number] if len(self.changed[number]) and rng.random() < self.change_share else None
        centre = int(rng.choice(pool if pool is not None else self.labelled[number]))
        row, col = divmod(centre, region.label1.shape[1])
        shift = rng.integers(-(self.size // 4), self.size // 4 + 1, size=2)
        sample = _sample(region, row - self.size // 2 + int(shift[0]), col - self.size // 2 + int(shift[1]), self.size)
        generator = torch.Generator().manual_seed(seed)
        return radiometric(swap_dates(rotate(flip(sample, generator), generator), generator), generator)


class ValidationTiles(Dataset):
    """The validation regions in tiles of at most :data:`VAL_TILE` pixels a side with a labelled pixel."""

    def __init__(self, regions: list[Region]) -> None:
        self.tiles: list[tuple[Region, int, int, int, int]] = []
        for region in regions:
            height, width = region.label1.shape
            for top in range(0, height, VAL_TILE):
                for left in range(0, width, VAL_TILE):
                    window = region.label1[top : top + VAL_TILE, left : left + VAL_TILE]
                    if (window != IGNORE).any():
                        self.tiles.append((region, top, left, *window.shape))

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, index: int) -> Sample:
        region, top, left, height, width = self.tiles[index]
        window = (slice(top, top + height), slice(left, left + width))
        return {
            "image1": torch.from_numpy(np.ascontiguousarray(region.images[0][:, window[0], window[1]])),
            "image2": torch.from_numpy(np.ascontiguousarray(region.images[1][:, window[0], window[1]])),
            "label1": torch.from_numpy(region.label1[window].astype(np.int64)),
            "label2": torch.from_numpy(region.label2[window].astype(np.int64)),
        }
