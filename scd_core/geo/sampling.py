"""Decimated reads of a large area that stay cheap over a network.

The checks and the stretch read whole areas decimated (:func:`scd_core.geo.rasters.check_has_data`,
:meth:`~scd_core.geo.rasters.WindowReader.overview`, the fingerprint). GDAL serves such a read from
the raster's overviews; without overviews it reads every block that holds a sampled pixel, which at
any useful decimation is every block: for a remote raster, the whole file over HTTP. There
(:func:`use_lattice`), :func:`read_decimated` reads a lattice of full-resolution windows instead, at
least 2 × 2, each about a block (:data:`SIDE`) and placed on a multiple of it, so each costs about
one block, and tiles them into an array of the decimated shape: as many pixels from a fraction of the
blocks. It samples the area rather than thins it evenly, which is what percentiles, data checks and
fingerprints need; a local raster or one with overviews is read as before, so its runs keep their
pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import pairwise

import numpy as np
import rasterio
from rasterio.windows import Window

#: Side in pixels of a lattice's windows, and the multiple they are placed on: the blocks of COGs and
#: of most tiled GeoTIFFs.
SIDE = 256

#: Reads ``(data, valid)`` (C×h×w, h×w) of a window, decimated to ``out_shape`` when one is given.
Reader = Callable[[Window, "tuple[int, int] | None"], "tuple[np.ndarray, np.ndarray]"]


def use_lattice(dataset: rasterio.DatasetReader, remote: bool, window: Window, out_shape: tuple[int, int]) -> bool:
    """True for a remote raster without overviews read decimated by 2 or more."""
    factor = min(window.height / out_shape[0], window.width / out_shape[1])
    return remote and factor >= 2 and not dataset.overviews(1)


def lattice(window: Window, out_shape: tuple[int, int]) -> Iterator[tuple[Window, slice, slice]]:
    """Full-resolution windows spread over ``window``, each with the rows and columns it fills of an
    array of ``out_shape``: one per cell of a grid of cells about :data:`SIDE` pixels (2 × 2 at
    least), near the cell's centre on a multiple of :data:`SIDE`."""
    cuts = []
    for size in out_shape:
        cells = min(size, max(2, round(size / SIDE)))
        cuts.append(np.linspace(0, size, cells + 1).astype(int))
    scale_y, scale_x = window.height / out_shape[0], window.width / out_shape[1]
    for top, bottom in pairwise(cuts[0]):
        for left, right in pairwise(cuts[1]):
            height, width = int(bottom - top), int(right - left)
            row = _placed((top + bottom) / 2 * scale_y - height / 2, window.row_off, window.height - height)
            col = _placed((left + right) / 2 * scale_x - width / 2, window.col_off, window.width - width)
            yield Window(col, row, width, height), slice(top, bottom), slice(left, right)


def _placed(start: float, offset: float, room: float) -> int:
    """``start`` (in a window at ``offset``) on the nearest multiple of :data:`SIDE` of the whole
    grid, kept within the window's ``room``."""
    snapped = round((offset + start) / SIDE) * SIDE
    return int(min(max(snapped, offset), offset + max(room, 0)))


def read_decimated(
    read: Reader, window: Window, out_shape: tuple[int, int], lattice_only: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``window`` read into ``out_shape``: decimated by GDAL, or with ``lattice_only`` tiled from the
    :func:`lattice`'s windows. A lattice that meets no valid pixel proves nothing (the data may lie
    between its windows), so the area is then read decimated after all."""
    if not lattice_only:
        return read(window, out_shape)
    data: np.ndarray | None = None
    valid = np.zeros(out_shape, dtype=bool)
    for part, rows, cols in lattice(window, out_shape):
        values, known = read(part, None)
        if data is None:
            data = np.zeros((values.shape[0], *out_shape), dtype=values.dtype)
        data[:, rows, cols], valid[rows, cols] = values, known
    assert data is not None  # a lattice has a cell at least
    return (data, valid) if valid.any() else read(window, out_shape)
