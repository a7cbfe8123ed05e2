"""A training pair's imagery, read through the engine's own stages, as ``scd detect`` will read it.

AFTER is warped onto BEFORE's grid over the dates' overlap (:func:`scd_core.geo.rasters.overlap_grid`,
:class:`~scd_core.geo.rasters.WindowReader`), the bands are matched by description
(:func:`scd_core.geo.bands.select_bands`), and raw values are scaled as the checkpoint's
``normalisation`` says (:mod:`scd_core.normalise`: with ``scale: auto``, one 2-98 % stretch for both
dates, measured over the whole overlap). What ``scd detect`` later feeds the model is then what the
model learned on, pixel for pixel.

A pair is read whole into memory (both dates, float32), which suits the labelled areas analysts draw;
a pair of very large rasters is best cropped to its labelled area first (``gdal_translate -projwin``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import ColorInterp
from rasterio.windows import Window

from scd_core.geo import rasters
from scd_core.geo.bands import band_names, select_bands
from scd_core.geo.grid import Grid
from scd_core.geo.inputs import ROLES, SAMPLE_SIZE, ground_pixel_size
from scd_core.normalise import Scale, make_normalisers
from scd_core.own_data.table import TrainingPair


@dataclass(frozen=True)
class PairImagery:
    """Both dates of a pair on BEFORE's grid: scaled (not yet standardised) and where both are valid."""

    grid: Grid
    images: np.ndarray  #: 2×C×H×W float32, scaled into the normalisation's value_range
    valid: np.ndarray  #: H×W bool, valid on both dates
    gsd_m: float | None  #: metres per pixel (on the CRS's ellipsoid)


def describe_bands(dataset: rasterio.DatasetReader) -> list[str]:
    """The names a fresh model's checkpoint gives the raster's bands: each band's description (``B04
    red``), else what its colour interpretation says (``red``), else ``band N``."""
    names = band_names(dataset)
    described = []
    for index, (interp, description) in enumerate(zip(dataset.colorinterp, dataset.descriptions, strict=True), 1):
        if interp == ColorInterp.alpha:
            continue
        described.append(description or names[index - 1] or f"band {index}")
    return described


def read_pair(
    pair: TrainingPair, bands: Sequence[str] | None, scaling: dict[str, Any]
) -> tuple[PairImagery, list[str]]:
    """``pair``'s imagery with ``bands`` (None: all of BEFORE's, :func:`describe_bands`), scaled by
    ``scaling`` (a normalisation with mean 0 and std 1). Returns it and the band names read."""
    paths = (str(pair.before), str(pair.after))
    with ExitStack() as stack:
        datasets = [stack.enter_context(rasters.open_raster(p, r)) for p, r in zip(paths, ROLES, strict=True)]
        grid = rasters.overlap_grid(datasets[0], datasets[1], paths)
        for dataset, path, role in zip(datasets, paths, ROLES, strict=True):
            rasters.check_has_data(dataset, path, role, grid)
        wanted = list(bands) if bands is not None else describe_bands(datasets[0])
        readers = []
        for dataset, path, role in zip(datasets, paths, ROLES, strict=True):
            choice = select_bands(dataset, path, wanted, None, role)
            reader = rasters.WindowReader(dataset, choice.bands, grid, path, role)
            stack.callback(reader.close)
            readers.append(reader)
        samples = [reader.overview(SAMPLE_SIZE) for reader in readers]
        dtypes = (datasets[0].dtypes[0], datasets[1].dtypes[0])
        scaling = {**scaling, "mean": [0.0] * len(wanted), "std": [1.0] * len(wanted)}
        stored = scaling.get("scale", "auto")
        scale: Scale = stored if isinstance(stored, str) else (float(stored[0]), float(stored[1]))
        normalisers = make_normalisers(scaling, scale, dtypes, samples)
        whole = Window(0, 0, grid.width, grid.height)
        reads = [reader.read(whole) for reader in readers]
    images = np.stack([normaliser(data) for normaliser, (data, _) in zip(normalisers, reads, strict=True)])
    valid = reads[0][1] & reads[1][1]
    images[:, :, ~valid] = 0.0
    return PairImagery(grid, images.astype(np.float32, copy=False), valid, ground_pixel_size(grid)), wanted
