"""The ground under everything, the same on both dates: vegetation and soil fields, roads, rivers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scd_core.synth.fields import MARGIN, Lattice, Profile
from scd_core.synth.geometry import Extent


@dataclass(frozen=True)
class Ground:
    """Smooth random fields shared by both dates: the unchanged background of the scene."""

    vegetation: Lattice  # low vegetation where ≥ 0, ground elsewhere
    shore: Lattice  # wobble of pond shores
    soil: Lattice  # pavement ↔ bare soil, and mid-scale mottling
    grain: Lattice  # fine mottling of every surface
    urban: Lattice  # how built-up a parcel tends to be

    def vegetated_at(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Whether points ``(ys[i], xs[i])`` are low vegetation rather than ground."""
        return self.vegetation.at(ys, xs) >= 0


def draw_ground(rng: np.random.Generator, height: int, width: int) -> Ground:
    """Fields of the ground. Vegetation patches are a coarse field plus detail, baked into one lattice
    at the detail's spacing: one evaluation per tile instead of two."""
    coarse = Lattice.draw(rng, height, width, rng.uniform(70, 130))
    detail = Lattice.draw(rng, height, width, rng.uniform(18, 30))
    field = coarse.grid(detail.nodes(0), detail.nodes(1)) + np.float32(0.35) * detail.values
    # The threshold is a quantile of the field itself, so that both ground and low vegetation occur
    # whatever the draw, in proportions that vary from scene to scene.
    threshold = np.quantile(field, rng.uniform(0.3, 0.65)).astype(np.float32)
    return Ground(
        vegetation=Lattice(field - threshold, detail.spacing),
        shore=detail,
        soil=Lattice.draw(rng, height, width, rng.uniform(30, 60)),
        grain=Lattice.draw(rng, height, width, rng.uniform(3.5, 6)),
        urban=Lattice.draw(rng, height, width, 256),
    )


@dataclass(frozen=True)
class Roads:
    """Straight roads on every few lines of the parcel grid, in both directions: along u at
    ``phase_u + k * period_u`` and along v likewise."""

    cos: float
    sin: float
    period_u: float
    period_v: float
    phase_u: float
    phase_v: float
    half_width: float

    def distance(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Distance on the grid ``ys`` × ``xs`` to the nearest road's centre line."""
        across_u = self._to_lines(ys, xs, self.cos, self.sin, self.phase_u, self.period_u)
        across_v = self._to_lines(ys, xs, -self.sin, self.cos, self.phase_v, self.period_v)
        return np.minimum(across_u, across_v, out=across_u)

    def _to_lines(
        self, ys: np.ndarray, xs: np.ndarray, along_x: float, along_y: float, phase: float, period: float
    ) -> np.ndarray:
        """Signed distance to the nearest of the lines where x·along_x + y·along_y = phase + k·period.

        Worked in periods: the position is offset by half a period, so that a line sits in the middle
        of each period and the distance to it is how far the fraction is from one half.
        """
        position = np.add.outer(
            ys * np.float32(along_y / period), xs * np.float32(along_x / period) + np.float32(0.5 - phase / period)
        )
        position -= np.floor(position)  # np.mod is ten times slower
        position -= np.float32(0.5)
        np.abs(position, out=position)
        position -= np.float32(self.half_width / period)
        position *= np.float32(period)
        return position


@dataclass(frozen=True)
class River:
    """A river: a band around a meandering centre line through (cx, cy) along (cos, sin)."""

    cx: float
    cy: float
    cos: float
    sin: float
    meander: Profile
    amplitude: float
    half_width: float

    def distance(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Signed distance on the grid ``ys`` × ``xs``."""
        dx = xs - np.float32(self.cx)
        dy = ys - np.float32(self.cy)
        u = dx[None, :] * np.float32(self.cos) + (dy * np.float32(self.sin))[:, None]
        v = (dy * np.float32(self.cos))[:, None] - dx[None, :] * np.float32(self.sin)
        return self._from_axis(u, v)

    def reaches(self, extent: Extent) -> bool:
        """Whether the river may come into ``extent``: its meanders stay within a band along its axis."""
        top, bottom, left, right = extent
        across = [(y - self.cy) * self.cos - (x - self.cx) * self.sin for y in (top, bottom) for x in (left, right)]
        reach = self.amplitude + self.half_width + 2
        return min(across) < reach and max(across) > -reach

    def distance_at(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Signed distance at points ``(ys[i], xs[i])``."""
        dx, dy = xs - np.float32(self.cx), ys - np.float32(self.cy)
        return self._from_axis(
            dx * np.float32(self.cos) + dy * np.float32(self.sin), dy * np.float32(self.cos) - dx * np.float32(self.sin)
        )

    def _from_axis(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Signed distance from coordinates along (u) and across (v) the river's axis."""
        return np.abs(v - np.float32(self.amplitude) * self.meander.at(u)) - np.float32(self.half_width)


def draw_river(rng: np.random.Generator, height: int, width: int) -> River:
    """A river through the scene at a random angle, its meanders drawn over the whole length it may cross."""
    angle = rng.uniform(0, math.pi)
    reach = math.hypot(height, width) + MARGIN
    spacing = rng.uniform(90, 170)
    values = rng.uniform(-1, 1, int(2 * reach / spacing) + 3).astype(np.float32)
    return River(
        cx=rng.uniform(0.15, 0.85) * width,
        cy=rng.uniform(0.15, 0.85) * height,
        cos=math.cos(angle),
        sin=math.sin(angle),
        meander=Profile(values, spacing, reach),
        amplitude=rng.uniform(8, 50),
        half_width=rng.uniform(7, 20),
    )
