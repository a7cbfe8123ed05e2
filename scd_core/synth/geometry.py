"""Where things are drawn: views (pixel-centre coordinates of a rectangle of the scene, perhaps
shifted) and rotated boxes, the shape of parcels, buildings, courts and patches."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Extent = tuple[float, float, float, float]  # top, bottom, left, right in scene pixels


@dataclass(frozen=True)
class View:
    """A rectangle of the scene as pixel-centre coordinates, x to the right and y down.

    ``shift`` moves the ground under the view: the second date is rendered through a shifted view,
    which is exactly a misregistration. A pixel's coordinates depend only on its indices and the shift,
    so any two views give bit-identical values for the pixels they share.
    """

    row0: int
    col0: int
    ys: np.ndarray
    xs: np.ndarray
    shift: tuple[float, float]

    @classmethod
    def of(cls, row0: int, row1: int, col0: int, col1: int, shift: tuple[float, float] = (0.0, 0.0)) -> View:
        """The view of scene rows ``row0:row1`` and columns ``col0:col1``, the ground under it moved by ``shift``."""
        ys = np.arange(row0, row1, dtype=np.float32) + np.float32(0.5 + shift[1])
        xs = np.arange(col0, col1, dtype=np.float32) + np.float32(0.5 + shift[0])
        return cls(row0, col0, ys, xs, shift)

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the view."""
        return len(self.ys), len(self.xs)

    def window(self, extent: Extent) -> tuple[int, int, int, int]:
        """Pixel indices (row0, row1, col0, col1) of the scene whose centres may fall in ``extent``."""
        top, bottom, left, right = extent
        dx, dy = self.shift
        return (
            math.floor(top - dy - 0.5),
            math.ceil(bottom - dy + 0.5),
            math.floor(left - dx - 0.5),
            math.ceil(right - dx + 0.5),
        )

    def part(self, extent: Extent) -> tuple[slice, slice] | None:
        """Slices of this view covering ``extent``, or None if they do not meet."""
        row0, row1, col0, col1 = self.window(extent)
        row0, row1 = max(row0 - self.row0, 0), min(row1 - self.row0, len(self.ys))
        col0, col1 = max(col0 - self.col0, 0), min(col1 - self.col0, len(self.xs))
        if row0 >= row1 or col0 >= col1:
            return None
        return slice(row0, row1), slice(col0, col1)

    def extent(self) -> Extent:
        """The scene area its pixels cover, edges included."""
        return float(self.ys[0]) - 0.5, float(self.ys[-1]) + 0.5, float(self.xs[0]) - 0.5, float(self.xs[-1]) + 0.5

    def around(self, extent: Extent) -> View:
        """A view with the same shift covering ``extent`` whole, even beyond this view."""
        row0, row1, col0, col1 = self.window(extent)
        return View.of(row0, row1, col0, col1, self.shift)

    def sub(self, part: tuple[slice, slice]) -> View:
        """The view of ``part`` of this view, as :meth:`part` gives it."""
        return View(
            self.row0 + part[0].start, self.col0 + part[1].start, self.ys[part[0]], self.xs[part[1]], self.shift
        )

    def overlap(self, other: View) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
        """Matching slices of this view and ``other`` (same shift) where they share pixels."""
        row0, col0 = max(self.row0, other.row0), max(self.col0, other.col0)
        row1 = min(self.row0 + self.shape[0], other.row0 + other.shape[0])
        col1 = min(self.col0 + self.shape[1], other.col0 + other.shape[1])
        if row0 >= row1 or col0 >= col1:
            return None
        mine = slice(row0 - self.row0, row1 - self.row0), slice(col0 - self.col0, col1 - self.col0)
        theirs = slice(row0 - other.row0, row1 - other.row0), slice(col0 - other.col0, col1 - other.col0)
        return mine, theirs


@dataclass(frozen=True)
class Box:
    """A rectangle of half-sizes ``half_length`` (along u) × ``half_width`` (along v), rotated so that u
    points along (cos, sin): parcels, buildings, courts, patches."""

    cx: float
    cy: float
    half_length: float
    half_width: float
    cos: float
    sin: float

    def local(self, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The box's (u, v) coordinates of the grid ``ys`` × ``xs``."""
        dx = xs - np.float32(self.cx)
        dy = ys - np.float32(self.cy)
        u = dx[None, :] * np.float32(self.cos) + (dy * np.float32(self.sin))[:, None]
        v = (dy * np.float32(self.cos))[:, None] - dx[None, :] * np.float32(self.sin)
        return u, v

    def distance(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Signed distance (outside the corners, a slight underestimate: fine for coverage)."""
        return np.maximum(np.abs(u) - np.float32(self.half_length), np.abs(v) - np.float32(self.half_width))

    def extent(self, margin: float = 0.0) -> Extent:
        """The box's bounding extent, grown by ``margin`` pixels on every side."""
        reach_x = self.half_length * abs(self.cos) + self.half_width * abs(self.sin) + margin
        reach_y = self.half_length * abs(self.sin) + self.half_width * abs(self.cos) + margin
        return self.cy - reach_y, self.cy + reach_y, self.cx - reach_x, self.cx + reach_x

    def sub(self, along: float, across: float, half_length: float, half_width: float) -> Box:
        """A box with the same orientation, centred at (along, across) in this box's frame."""
        cx = self.cx + along * self.cos - across * self.sin
        cy = self.cy + along * self.sin + across * self.cos
        return Box(cx, cy, half_length, half_width, self.cos, self.sin)
