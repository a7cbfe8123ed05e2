"""The minimum mapping unit: regions of fewer pixels than ``--mmu`` merge into their neighbours.

A model's map is noisy at the scale of single pixels; an analyst's map has a minimum mapping unit.
Before polygonising, every connected region (4-connected, as the polygons are) of one change type
smaller than the unit is merged into its largest neighbouring region, which may be "no change":
GDAL's sieve filter (:func:`rasterio.features.sieve`), nodata excluded. The per-date class maps are
then rewritten from the sieved change types, so all maps keep telling the same story.

Memory stays flat in the raster's size: the map is sieved in blocks of :data:`SIEVE_BLOCK` pixels,
each read with a halo of ``mmu`` pixels. A region smaller than the unit lies entirely within ``mmu``
pixels of each of its pixels, so every small region is found whole, and every region of the unit or
more is seen as one; only the choice between two large neighbours both cut by a block's halo can
differ from a whole-raster sieve. The sieve sees the output area only: a region cut by the AOI's edge
is measured inside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.features import sieve
from rasterio.windows import Window

from scd_core.geo.grid import BLOCK

#: Side of the blocks the map is sieved in (a multiple of the GeoTIFFs' block).
SIEVE_BLOCK = 8 * BLOCK
NODATA = 255


def _blocks(height: int, width: int) -> list[Window]:
    return [
        Window(col, row, min(SIEVE_BLOCK, width - col), min(SIEVE_BLOCK, height - row))
        for row in range(0, height, SIEVE_BLOCK)
        for col in range(0, width, SIEVE_BLOCK)
    ]


def sieve_change_types(source: Path, destination: Path, mmu: int) -> None:
    """Write ``source``'s change-type map with its regions under ``mmu`` pixels merged away."""
    with rasterio.open(source) as codes, rasterio.open(destination, "w", **codes.profile) as out:
        for core in _blocks(codes.height, codes.width):
            top, left = max(0, int(core.row_off) - mmu), max(0, int(core.col_off) - mmu)
            bottom = min(codes.height, int(core.row_off + core.height) + mmu)
            right = min(codes.width, int(core.col_off + core.width) + mmu)
            values = codes.read(1, window=Window(left, top, right - left, bottom - top))
            sieved = sieve(values, mmu, mask=values != NODATA, connectivity=4)
            rows = slice(int(core.row_off) - top, int(core.row_off) - top + int(core.height))
            cols = slice(int(core.col_off) - left, int(core.col_off) - left + int(core.width))
            out.write(sieved[rows, cols], 1, window=core)


def rewrite_class_maps(change_type: Path, maps: dict[str, Path], num_classes: int) -> np.ndarray:
    """Rewrite the per-date class maps and the changed-pixel mask from a (sieved) change-type map;
    returns the pixels of each change type (codes 0..N²)."""
    counts = np.zeros(1 + num_classes * num_classes, dtype=np.int64)
    with rasterio.open(change_type) as codes:
        outputs = {name: rasterio.open(path, "r+") for name, path in maps.items()}
        try:
            for window in _blocks(codes.height, codes.width):
                values = codes.read(1, window=window).astype(np.int16)
                changed = (values > 0) & (values != NODATA)
                before = np.where(changed, 1 + (values - 1) // num_classes, 0)
                after = np.where(changed, 1 + (values - 1) % num_classes, 0)
                nodata = values == NODATA
                counts += np.bincount(values[~nodata].ravel(), minlength=len(counts))
                planes = {
                    "before_class": np.where(nodata, NODATA, before),
                    "after_class": np.where(nodata, NODATA, after),
                    "changed_mask": changed,
                }
                for name, dataset in outputs.items():
                    dataset.write(planes[name].astype(np.uint8), 1, window=window)
        finally:
            for dataset in outputs.values():
                dataset.close()
    return counts
