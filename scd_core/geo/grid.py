"""Pixel geometry of a detection run: the output grid, tile windows, panels and blending weights.

Pure functions of numbers and affine transforms: no file is opened here and torch is not imported, so
every rule that decides which pixel goes where is unit-tested on its own.

How a raster of any size is covered
-----------------------------------
Tiles of ``tile`` pixels overlap by at least ``overlap`` pixels; the last tile of a row or column is
pushed back to end on the raster's edge, so every tile lies inside the raster and all tiles share one
shape (a raster smaller than a tile gets one tile of its own size). Predictions are blended with
smooth weights (:func:`blend_weights`) that fall towards a tile's borders, where a convolutional
network sees least context, so tile borders leave no seams.

Memory must not grow with the raster. The engine walks the raster in *panels* (column ranges of at
most ``max_panel_width`` pixels) and, inside a panel, tile row by tile row. After a tile row, every
pixel above the next tile row has received all its contributions and is written out (in whole
blocks of ``block`` rows) and freed. A panel computes every tile that touches its columns, so the one
or two tile columns that straddle a panel border are computed by both panels; each pixel is still
finalised by exactly one panel from exactly the tiles that cover it, so the result does not depend on
the panel width.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio import windows
from rasterio.transform import array_bounds
from rasterio.windows import Window

#: Floor of the 1-D blending ramp: the product of two ramps (a tile corner) stays above 4e-4, so
#: half-precision accumulators never underflow and every pixel has a well-defined average.
MIN_RAMP = 0.02

#: Output rows are finalised, written and freed in whole blocks of this many rows, and every working
#: GeoTIFF is tiled in blocks of this size, so each write fills whole blocks.
BLOCK = 256

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid: CRS, affine transform and size. Outputs of a run share one grid.

    Windows of a grid are placed with :mod:`rasterio.windows` (``windows.transform(window,
    grid.transform)``, ``windows.bounds(window, grid.transform)``).
    """

    crs: str
    transform: Affine
    width: int
    height: int

    @property
    def bounds(self) -> Bounds:
        """``(left, bottom, right, top)`` in the grid's CRS."""
        return array_bounds(self.height, self.width, self.transform)

    def window(self, window: Window) -> Grid:
        """The grid of a window of this grid (same CRS and pixel size)."""
        return Grid(self.crs, windows.transform(window, self.transform), int(window.width), int(window.height))


@dataclass(frozen=True)
class RunWindows:
    """Where a run's pixels lie, as windows of the overlap of both dates (on BEFORE's pixels).

    Each window holds the one before it: the *output* area (the overlap clipped to the AOI), the
    *maps* the engine writes (the output area and the pixels its sieve reads around it, or one block
    of them in a split run), and the *compute* window, the tiles of the overlap's plan that cover
    the maps. Tile plan, stretch and sieve are all fixed on the overlap, so a run over any of its
    parts gives the pixels of the whole run there.
    """

    overlap_width: int
    overlap_height: int
    output: Window
    maps: Window
    compute: Window


def placed_in(window: Window, container: Window) -> Window:
    """``window`` in the pixels of ``container`` (both windows of one grid)."""
    return Window(window.col_off - container.col_off, window.row_off - container.row_off, window.width, window.height)


def placed_out_of(window: Window, container: Window) -> Window:
    """``window``, given in the pixels of ``container``, in the pixels of the grid ``container`` is a
    window of (the inverse of :func:`placed_in`)."""
    return Window(window.col_off + container.col_off, window.row_off + container.row_off, window.width, window.height)


def is_north_up(transform: Affine) -> bool:
    """True for grids without rotation or shear, with rows running south (the usual image layout)."""
    return transform.b == 0 and transform.d == 0 and transform.a > 0 and transform.e < 0


def covering_window(transform: Affine, width: int, height: int, bounds: Sequence[Bounds]) -> Window | None:
    """The window of a north-up grid that covers the intersection of its extent and every ``bounds``.

    Edges are rounded outwards to whole pixels (a pixel touched by the area is kept), with a tolerance
    of a millionth of a pixel so that bounds lying on pixel edges do not gain a pixel from rounding
    noise. Returns ``None`` when the intersection is empty.
    """
    col_lo, row_lo, col_hi, row_hi = 0.0, 0.0, float(width), float(height)
    inverse = ~transform
    for left, bottom, right, top in bounds:
        c0, r0 = inverse @ (left, top)
        c1, r1 = inverse @ (right, bottom)
        col_lo, col_hi = max(col_lo, min(c0, c1)), min(col_hi, max(c0, c1))
        row_lo, row_hi = max(row_lo, min(r0, r1)), min(row_hi, max(r0, r1))
    eps = 1e-6
    c0, r0 = math.floor(col_lo + eps), math.floor(row_lo + eps)
    c1, r1 = math.ceil(col_hi - eps), math.ceil(row_hi - eps)
    if c1 <= c0 or r1 <= r0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


def pixel_offset(grid: Affine, other: Affine, tolerance: float = 1e-6) -> tuple[int, int] | None:
    """``(col, row)`` of ``grid``'s origin in ``other``'s pixels when the two share pixel size and
    their origins differ by whole pixels (so ``other`` is read without resampling); else ``None``."""
    if not (is_north_up(grid) and is_north_up(other)):
        return None
    if not (math.isclose(grid.a, other.a, rel_tol=1e-9) and math.isclose(grid.e, other.e, rel_tol=1e-9)):
        return None
    col, row = ~other @ (grid.c, grid.f)
    if abs(col - round(col)) > tolerance or abs(row - round(row)) > tolerance:
        return None
    return round(col), round(row)


def tile_starts(length: int, tile: int, overlap: int, offset: int = 0) -> list[int]:
    """Start positions of tiles covering ``[0, length)`` with at least ``overlap`` pixels shared.

    Tiles start every ``tile - overlap`` pixels, shifted back by ``offset`` (to move the whole tile
    grid, e.g. by half a tile in the seam test); starts are clamped into ``[0, length - tile]`` so every
    tile lies inside. A length not longer than a tile gets the single start 0.
    """
    if tile <= 0 or not 0 <= overlap < tile:
        raise ValueError(f"need tile > 0 and 0 <= overlap < tile, got tile={tile}, overlap={overlap}")
    if length <= tile:
        return [0]
    stride = tile - overlap
    last = length - tile
    starts: list[int] = []
    position = -(offset % stride)
    while True:
        start = min(max(position, 0), last)
        if not starts or start != starts[-1]:
            starts.append(start)
        if start == last:
            return starts
        position += stride


def blend_ramp(length: int, overlap: int) -> np.ndarray:
    """1-D blending weights of a tile: a raised-cosine rise over ``overlap`` pixels at each end and 1 in
    between, floored at :data:`MIN_RAMP`. Symmetric, and never 0."""
    ramp = np.ones(length, dtype=np.float32)
    rise = min(overlap, length // 2)
    if rise:
        position = (np.arange(rise, dtype=np.float32) + 1) / (rise + 1)
        edge = np.maximum(np.sin(0.5 * np.pi * position) ** 2, MIN_RAMP)
        ramp[:rise] = edge
        ramp[length - rise :] = edge[::-1]
    return ramp


def blend_weights(height: int, width: int, overlap: int) -> np.ndarray:
    """2-D blending weights of a ``height``×``width`` tile: the outer product of two ramps."""
    return np.outer(blend_ramp(height, overlap), blend_ramp(width, overlap)).astype(np.float32)


def coverage(starts: Sequence[int], tile: int, length: int, overlap: int) -> np.ndarray:
    """Sum of the 1-D ramps of tiles starting at ``starts`` over ``[0, length)``.

    Tiles form a grid and 2-D weights are outer products, so the total weight a pixel receives is
    ``coverage(rows)[y] * coverage(cols)[x]``: blended sums are normalised without accumulating
    weights pixel by pixel.
    """
    total = np.zeros(length, dtype=np.float64)
    ramp = blend_ramp(tile, overlap)
    for start in starts:
        total[start : start + tile] += ramp
    return total.astype(np.float32)


@dataclass(frozen=True)
class Panel:
    """A column range ``[col_lo, col_hi)`` that one pass finalises, and the tile columns it computes."""

    col_lo: int
    col_hi: int
    tile_cols: tuple[int, ...]

    @property
    def x0(self) -> int:
        """First column of the panel's accumulator (the left edge of its first tile)."""
        return self.tile_cols[0]


@dataclass(frozen=True)
class Tile:
    """One model input window, in output-grid pixels, with its place in the plan."""

    panel: int
    row_index: int
    row: int
    col: int
    height: int
    width: int

    @property
    def window(self) -> Window:
        """The tile as a rasterio window of the output grid."""
        return Window(self.col, self.row, self.width, self.height)


def split_columns(width: int, max_panel_width: int, block: int) -> list[tuple[int, int]]:
    """Cut ``[0, width)`` into column ranges of at most ``max_panel_width`` (rounded down to whole
    ``block``s, at least one block), so that panels write whole blocks of tiled outputs."""
    step = max(block, max_panel_width // block * block)
    return [(lo, min(lo + step, width)) for lo in range(0, width, step)]


@dataclass(frozen=True)
class TilePlan:
    """Every tile of a run, in the order the engine computes them: panel, then tile row, then column."""

    height: int
    width: int
    tile_height: int
    tile_width: int
    overlap: int
    row_starts: tuple[int, ...]
    col_starts: tuple[int, ...]
    panels: tuple[Panel, ...]
    max_panel_width: int = 4096

    @classmethod
    def build(
        cls, height: int, width: int, tile: int, overlap: int, offset: int = 0, max_panel_width: int = 4096
    ) -> TilePlan:
        """Plan tiles of ``tile`` pixels overlapping by ``overlap`` over a ``height``×``width`` grid.

        ``offset`` shifts the tile grid by that many pixels along both axes; panels are at most
        ``max_panel_width`` columns wide.
        """
        row_starts = tile_starts(height, tile, overlap, offset)
        col_starts = tile_starts(width, tile, overlap, offset)
        tile_height, tile_width = min(tile, height), min(tile, width)
        return cls._of_starts(height, width, tile_height, tile_width, overlap, row_starts, col_starts, max_panel_width)

    @classmethod
    def _of_starts(
        cls,
        height: int,
        width: int,
        tile_height: int,
        tile_width: int,
        overlap: int,
        row_starts: Sequence[int],
        col_starts: Sequence[int],
        max_panel_width: int = 4096,
    ) -> TilePlan:
        panels = []
        for col_lo, col_hi in split_columns(width, max_panel_width, BLOCK):
            cols = tuple(c for c in col_starts if c < col_hi and c + tile_width > col_lo)
            panels.append(Panel(col_lo, col_hi, cols))
        return cls(
            height,
            width,
            tile_height,
            tile_width,
            overlap,
            tuple(row_starts),
            tuple(col_starts),
            tuple(panels),
            max_panel_width,
        )

    def around(self, window: Window) -> tuple[Window, TilePlan]:
        """The tiles of this plan that touch ``window``, as a plan of their own over the window they
        cover (returned in this plan's pixels).

        Every tile that covers a pixel of ``window`` touches it, so inside ``window`` the sub-plan
        blends exactly the tiles, with exactly the weights, of the whole plan: a run over an AOI or
        a block gives the pixels of the whole run.
        """
        top, left = int(window.row_off), int(window.col_off)
        bottom, right = top + int(window.height), left + int(window.width)
        rows = [r for r in self.row_starts if r < bottom and r + self.tile_height > top]
        cols = [c for c in self.col_starts if c < right and c + self.tile_width > left]
        row0, col0 = rows[0], cols[0]
        height, width = rows[-1] + self.tile_height - row0, cols[-1] + self.tile_width - col0
        plan = TilePlan._of_starts(
            height,
            width,
            self.tile_height,
            self.tile_width,
            self.overlap,
            [r - row0 for r in rows],
            [c - col0 for c in cols],
            self.max_panel_width,
        )
        return Window(col0, row0, width, height), plan

    def __len__(self) -> int:
        return len(self.row_starts) * sum(len(p.tile_cols) for p in self.panels)

    def tiles(self) -> Iterator[Tile]:
        """Every tile, in the engine's order."""
        for index, panel in enumerate(self.panels):
            for row_index, row in enumerate(self.row_starts):
                for col in panel.tile_cols:
                    yield Tile(index, row_index, row, col, self.tile_height, self.tile_width)

    def panel_span(self, panel: Panel) -> int:
        """Width of a panel's accumulator: from its first tile's left edge to its last tile's right edge."""
        return panel.tile_cols[-1] + self.tile_width - panel.tile_cols[0]

    def rows_final_after(self, row_index: int) -> int:
        """Rows above this index have all their contributions once tile row ``row_index`` is done."""
        if row_index + 1 < len(self.row_starts):
            return self.row_starts[row_index + 1]
        return self.height
