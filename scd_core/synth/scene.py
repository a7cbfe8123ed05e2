"""Scenes in memory: :class:`Scene`, SECOND's truth of a bitemporal pair, and :func:`make_scene`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scd_core.labels import IGNORE, NO_CHANGE, change_code
from scd_core.synth.plan import draw_plan
from scd_core.synth.render import quantise, render

#: A scene's size: an int for a square, or ``(height, width)``.
Size = int | tuple[int, int]


@dataclass(frozen=True, eq=False)
class Scene:
    """A bitemporal pair and its truth, SECOND's way.

    Attributes:
        image1, image2: H×W×3 uint8 RGB images of the two dates.
        label1, label2: H×W uint8 per-date class maps: the class (1-6) where the land cover changed,
            0 elsewhere, on both dates alike. In a :class:`~scd_core.synth.GeoPair`, also 255 (ignore)
            where an image has no data.
        cover1, cover2: H×W uint8 land cover of each date everywhere (1-6): what SECOND does not
            annotate, for semantic segmentation and for checking the generator.
        misregistration: (dx, dy) in pixels by which the ground under ``image2`` is shifted with
            respect to ``image1`` and the labels (a pseudo-change).
    """

    image1: np.ndarray
    image2: np.ndarray
    label1: np.ndarray
    label2: np.ndarray
    cover1: np.ndarray
    cover2: np.ndarray
    misregistration: tuple[float, float]

    def __repr__(self) -> str:
        height, width = self.label1.shape
        dx, dy = self.misregistration
        return (
            f"Scene({height}×{width}, {self.change_mask.mean():.1%} changed, misregistration ({dx:+.2f}, {dy:+.2f}) px)"
        )

    @property
    def change_mask(self) -> np.ndarray:
        """True where the land cover changed (SECOND's binary change truth)."""
        return (self.label1 != NO_CHANGE) & (self.label1 != IGNORE)

    @property
    def change_type(self) -> np.ndarray:
        """From-to codes of :func:`scd_core.labels.change_code` (255 where ignored)."""
        ignored = self.label1 == IGNORE
        codes = change_code(np.where(ignored, 0, self.label1), np.where(ignored, 0, self.label2))
        codes[ignored] = IGNORE
        return codes


def scene_shape(size: Size) -> tuple[int, int]:
    """``size`` as ``(height, width)``, checked."""
    height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if int(height) < 1 or int(width) < 1:
        raise ValueError(f"scene size must be positive, got {size!r}")
    return int(height), int(width)


def make_scene(size: Size = 512, seed: int = 0) -> Scene:
    """Draw one bitemporal scene of ``size`` (an int for a square, or ``(height, width)``).

    The same ``seed`` and ``size`` always give byte-identical arrays. Objects keep their size in pixels
    (about SECOND's 0.5 m), so a scene's content scales with its area: from about 256×256 up every
    class occurs on both dates, while a scene of a few dozen pixels may show one parcel, or only a
    river, and no change at all. About 45 ms for 512×512 on one core (see :mod:`scd_core.synth`).
    """
    height, width = scene_shape(size)
    plan = draw_plan(height, width, seed)
    image1 = np.empty((height, width, 3), np.uint8)
    image2 = np.empty((height, width, 3), np.uint8)
    label1, label2, cover1, cover2 = (np.empty((height, width), np.uint8) for _ in range(4))
    for tile in render(plan):
        where = tile.rows, tile.cols
        image1[where] = quantise(tile.image1).transpose(1, 2, 0)
        image2[where] = quantise(tile.image2).transpose(1, 2, 0)
        cover1[where], cover2[where] = tile.cover1, tile.cover2
        label1[where], label2[where] = tile.labels()
    return Scene(image1, image2, label1, label2, cover1, cover2, plan.misregistration)
