"""Nodata collars: where each date of a georeferenced pair has data, as a satellite scene's footprint."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scd_core.synth.fields import Lattice
from scd_core.synth.geometry import Box, View
from scd_core.synth.randomness import random_stream


@dataclass(frozen=True)
class Footprint:
    """Where a satellite scene has data: a slightly rotated rectangle with ragged edges, inside a nodata
    collar at least one pixel wide all round, as an orthorectified scene's footprint."""

    box: Box
    edge: Lattice
    raggedness: float
    height: int
    width: int

    def valid(self, view: View) -> np.ndarray:
        """Where ``view``'s pixels have data; a row or column at the scene's edge never has (the collar)."""
        u, v = self.box.local(view.ys, view.xs)
        valid = self.box.distance(u, v) + np.float32(self.raggedness) * self.edge.grid(view.ys, view.xs) <= 0
        if view.row0 == 0:
            valid[0] = False
        if view.row0 + view.shape[0] == self.height:
            valid[-1] = False
        if view.col0 == 0:
            valid[:, 0] = False
        if view.col0 + view.shape[1] == self.width:
            valid[:, -1] = False
        return valid


def _draw_footprint(rng: np.random.Generator, height: int, width: int, collar: int) -> Footprint:
    """A footprint whose rotated edges come no closer than ``collar`` px (minus raggedness) to the border."""
    free_x, free_y = max(width / 2 - collar, 1), max(height / 2 - collar, 1)
    # Rotation small enough that the rectangle still fits: tan(angle) below free_y / free_x (and vice versa).
    angle = rng.uniform(0.3, 1) * min(math.radians(8), 0.5 * math.atan(min(free_x, free_y) / max(free_x, free_y)))
    angle *= rng.choice((-1, 1))
    cos, sin = math.cos(angle), abs(math.sin(angle))
    determinant = cos * cos - sin * sin
    half_length = (cos * free_x - sin * free_y) / determinant
    half_width = (cos * free_y - sin * free_x) / determinant
    box = Box(width / 2, height / 2, max(half_length, 1), max(half_width, 1), math.cos(angle), math.sin(angle))
    raggedness = min(collar / 2, 12)
    return Footprint(box, Lattice.draw(rng, height, width, rng.uniform(12, 40)), raggedness, height, width)


def draw_footprints(seed: int, height: int, width: int, collar: int) -> tuple[Footprint, Footprint]:
    """Both dates' footprints, from a stream of their own: collars leave the scene itself unchanged."""
    rng = random_stream(seed, 2)
    return _draw_footprint(rng, height, width, collar), _draw_footprint(rng, height, width, collar)
