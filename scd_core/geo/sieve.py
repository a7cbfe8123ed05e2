"""The minimum mapping unit: regions of fewer pixels than ``--mmu`` merge into their neighbours.

A model's map is noisy at the scale of single pixels; an analyst's map has a minimum mapping unit.
Before polygonising, every connected region (4-connected, as the polygons are) of one change type
smaller than the unit is merged into its largest neighbouring region, which may be "no change":
GDAL's sieve filter (:func:`rasterio.features.sieve`), nodata excluded.

A pixel's sieved value must not depend on how much of the raster the run covers: a ``--bbox`` or
AOI run, each block of a split run and the full run agree pixel for pixel. So the sieve is fixed to
the *overlap's* pixels, never to the output area:

* the overlap is cut into square blocks of :data:`SIEVE_BLOCK` pixels from its corner, and each block
  is sieved from its own pixels and a halo of :func:`halo` pixels around it (clipped to the overlap
  only). The same block reads the same pixels in every run, whatever the AOI;
* a run over part of the overlap therefore computes its maps over :func:`context_window`, the blocks
  meeting the output area with their halos, and crops the sieved blocks to the output area. A region
  cut by the AOI's edge is measured whole (as far as the halo reaches), as in the full run.

The halo: a region smaller than the unit lies within ``mmu`` pixels of each of its pixels, so a halo
of ``mmu`` finds every small region whole; what a halo can still change is the choice between two
large neighbours cut by it (GDAL merges into the larger). A halo of at least :data:`MIN_HALO` pixels
made that choice as a whole-raster sieve makes it at every pixel of the demo sample and of a
Sentinel-2 pair (block sides 64 to 512, ``--mmu`` 9 and 30), where a halo of ``mmu`` missed it at 3
to 48 pixels of each map (of about a million pixels). Memory stays flat in the raster's size: one
block and its halo are read at a time, and one strip of sieved rows is held.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rasterio
from rasterio.features import sieve
from rasterio.windows import Window

from scd_core.geo.grid import BLOCK

#: Side of the blocks the overlap is sieved in: small, since a run over a small AOI computes the
#: blocks meeting it whole; large enough that reading the halos stays cheap (each block reads 4× its
#: pixels with the least halo).
SIEVE_BLOCK = 128
#: The halo's least width in pixels (see the module's docstring).
MIN_HALO = 64
NODATA = 255


def halo(mmu: int) -> int:
    """Pixels read around a block to sieve it with a unit of ``mmu`` pixels."""
    return max(mmu, MIN_HALO)


def _span(start: int, length: int, size: int, mmu: int) -> tuple[int, int]:
    """``[lo, hi)`` along one axis of an overlap of ``size`` pixels: the sieve blocks meeting
    ``[start, start + length)``, grown by the halo and clipped to the overlap."""
    first = start // SIEVE_BLOCK * SIEVE_BLOCK
    last = -(-(start + length) // SIEVE_BLOCK) * SIEVE_BLOCK
    return max(0, first - halo(mmu)), min(size, last + halo(mmu))


def context_window(output: Window, width: int, height: int, mmu: int) -> Window:
    """The window of the overlap (``width``×``height``) that the maps must cover for the sieved
    pixels of ``output`` (a window of the overlap); ``output`` itself when nothing is sieved."""
    if mmu < 2:
        return output
    col_lo, col_hi = _span(int(output.col_off), int(output.width), width, mmu)
    row_lo, row_hi = _span(int(output.row_off), int(output.height), height, mmu)
    return Window(col_lo, row_lo, col_hi - col_lo, row_hi - row_lo)


def _sieve(values: np.ndarray, mmu: int) -> np.ndarray:
    """GDAL's sieve of ``values`` (nodata excluded) for any unit and any size, 1×1 included.

    rasterio refuses a unit of the image's size or more. Past the image's size every region is
    small whatever the unit, so the unit is capped at size + 1, and a row and a column of nodata,
    which no region includes or merges into, make the image larger than that."""
    height, width = values.shape
    padded = np.full((height + 1, width + 1), NODATA, values.dtype)
    padded[:height, :width] = values
    return sieve(padded, min(mmu, height * width + 1), mask=padded != NODATA, connectivity=4)[:height, :width]


def _sieved_block_row(
    codes: rasterio.DatasetReader, row: int, span: tuple[int, int], maps: Window, size: tuple[int, int], mmu: int
) -> np.ndarray:
    """Rows ``[row, row + SIEVE_BLOCK)`` of the overlap, columns ``span``, each block sieved with its
    halo; one block and its halo are read at a time, so memory does not grow with the width."""
    (width, height), margin, (left, right) = size, halo(mmu), span
    read_lo, read_hi = max(0, row - margin), min(height, row + SIEVE_BLOCK + margin)
    rows = slice(row - read_lo, min(row + SIEVE_BLOCK, height) - read_lo)
    parts = []
    for col in range(left // SIEVE_BLOCK * SIEVE_BLOCK, right, SIEVE_BLOCK):
        block_lo, block_hi = max(0, col - margin), min(width, col + SIEVE_BLOCK + margin)
        corner = (block_lo - int(maps.col_off), read_lo - int(maps.row_off))
        values = codes.read(1, window=Window(*corner, block_hi - block_lo, read_hi - read_lo))
        sieved = _sieve(values, mmu)
        parts.append(sieved[rows, max(col, left) - block_lo : min(col + SIEVE_BLOCK, right) - block_lo])
    return np.concatenate(parts, axis=1)


def sieved_strips(
    change_type: Path, maps: Window, output: Window, width: int, height: int, mmu: int
) -> Iterator[tuple[int, np.ndarray]]:
    """The change types of ``output``, sieved, in strips of :data:`~scd_core.geo.grid.BLOCK` rows
    (whole blocks of the working GeoTIFFs): ``(first row in output's pixels, codes)``.

    Args:
        change_type: the unsieved change-type map, covering ``maps``.
        maps: the map's window of the overlap (at least :func:`context_window` of ``output``).
        output: the window of the overlap to return.
        width: the overlap's width.
        height: the overlap's height.
        mmu: the minimum mapping unit in pixels; below 2, the codes are returned as they are.
    """
    top, left = int(output.row_off), int(output.col_off)
    bottom, right = top + int(output.height), left + int(output.width)
    last: tuple[int, np.ndarray] | None = None  # a sieved block row that two strips share
    with rasterio.open(change_type) as codes:
        for start in range(top, bottom, BLOCK):
            end = min(start + BLOCK, bottom)
            if mmu < 2:
                window = Window(left - int(maps.col_off), start - int(maps.row_off), right - left, end - start)
                yield start - top, codes.read(1, window=window)
                continue
            parts = []
            for row in range(start // SIEVE_BLOCK * SIEVE_BLOCK, end, SIEVE_BLOCK):
                if last is None or last[0] != row:
                    last = row, _sieved_block_row(codes, row, (left, right), maps, (width, height), mmu)
                parts.append(last[1][max(row, start) - row : min(row + SIEVE_BLOCK, end) - row])
            yield start - top, np.concatenate(parts, axis=0)
