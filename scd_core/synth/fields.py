"""Smooth random fields: value noise on a lattice (vegetation patches, soil mottling, pond shores, the
grain of every surface), along a line (a river's meander), and a triangle wave for stripes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Pixels beyond the scene's edges that smooth fields cover: parcels straddle the edges and shapes
#: reach a little beyond them.
MARGIN = 64


def _cells(coords: np.ndarray, spacing: float, origin: float) -> tuple[np.ndarray, np.ndarray]:
    """Lattice cell of each coordinate and its smoothstep weight; the lattice's node 0 is at ``origin``."""
    position = (coords - np.float32(origin)) * np.float32(1 / spacing)
    cell = np.floor(position)
    weight = position - cell
    return cell.astype(np.intp), weight * weight * (np.float32(3) - np.float32(2) * weight)


@dataclass(frozen=True)
class Lattice:
    """Value noise: random values on a square lattice, smoothly interpolated; values in [-1, 1].

    The lattice covers the scene and :data:`MARGIN` pixels around it.
    """

    values: np.ndarray
    spacing: float

    @classmethod
    def draw(cls, rng: np.random.Generator, height: float, width: float, spacing: float) -> Lattice:
        """A lattice of fresh random values at ``spacing`` covering a ``height`` × ``width`` scene and its margin."""
        shape = (int((height + 2 * MARGIN) / spacing) + 3, int((width + 2 * MARGIN) / spacing) + 3)
        return cls(rng.uniform(-1.0, 1.0, shape).astype(np.float32), spacing)

    def nodes(self, axis: int) -> np.ndarray:
        """Coordinates of the lattice's nodes along ``axis`` (0: y, 1: x)."""
        return np.arange(self.values.shape[axis], dtype=np.float32) * np.float32(self.spacing) - np.float32(MARGIN)

    def grid(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Field on the grid of rows ``ys`` × columns ``xs``: separable, so cheap.

        Columns are interpolated on the small lattice first, then whole rows are gathered: the result
        is C-ordered (a column gather on the full grid would give an F-ordered array, and every
        later operation mixing it with C-ordered ones would run strided, several times slower).
        """
        row, row_weight = _cells(ys, self.spacing, -MARGIN)
        col, col_weight = _cells(xs, self.spacing, -MARGIN)
        left = self.values[:, col]
        columns = np.ascontiguousarray(left + (self.values[:, col + 1] - left) * col_weight)
        top = columns[row]
        return top + (columns[row + 1] - top) * row_weight[:, None]

    def at(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Field at points ``(ys[i], xs[i])`` (for planning, a few thousand points)."""
        row, row_weight = _cells(np.asarray(ys, np.float32), self.spacing, -MARGIN)
        col, col_weight = _cells(np.asarray(xs, np.float32), self.spacing, -MARGIN)
        top = self.values[row, col] + (self.values[row, col + 1] - self.values[row, col]) * col_weight
        bottom = self.values[row + 1, col] + (self.values[row + 1, col + 1] - self.values[row + 1, col]) * col_weight
        return top + (bottom - top) * row_weight


@dataclass(frozen=True)
class Profile:
    """One-dimensional value noise over [-reach, reach]: a river's meander."""

    values: np.ndarray
    spacing: float
    reach: float

    def at(self, t: np.ndarray) -> np.ndarray:
        """The meander at positions ``t`` along the axis."""
        cell, weight = _cells(t, self.spacing, -self.reach)
        left = self.values[cell]
        return left + (self.values[cell + 1] - left) * weight


def triangle_wave(t: np.ndarray) -> np.ndarray:
    """Period-1 triangle wave in [-1, 1]: stripes (tilled soil, mown lawns, ribbed roofs) without sin."""
    return np.abs((t - np.floor(t)) * np.float32(4) - np.float32(2)) - np.float32(1)
