"""``--calibrate BEFORE AFTER [BEFORE AFTER …]``: int8 calibrated and judged on the user's own imagery.

Synthetic scenes (:func:`scd_core.geo.precision.calibration_tiles`) stand for aerial RGB of 8 bits;
the activations of a model reading Sentinel-2 reflectances, or an archive's colours, span other
ranges, and int8's ranges measured on synthetic scenes clip them. So ``--calibrate`` names pairs of
the user's rasters, before and after in turn, as ``scd detect`` would read them. Each pair is
prepared by the engine itself (:func:`scd_core.geo.inputs.prepare`, in fp32, which hands itself over:
this module is part of that stage): its bands, its stretch, AFTER warped onto BEFORE's grid, so the
calibration tiles are exactly what a run feeds the model. Up to :data:`TILES_PER_PAIR` windows of
:data:`TILE_SIZE` pixels are taken from each pair, spread over it, among those at least
:data:`MIN_VALID` valid in both dates; invalid pixels are zeroed as the engine zeroes them.

The int8 graph is cached keyed by the calibration too (:attr:`RasterCalibration.key`: the rasters,
the band and stretch options), so other rasters quantise anew, and the same ones never twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from rasterio.windows import Window

from scd_core.errors import NoDataError
from scd_core.geo.rasters import main_file

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from scd_core.geo.grid import Grid
    from scd_core.geo.options import DetectOptions
    from scd_core.geo.progress import RunLog
    from scd_core.geo.rasters import WindowReader
    from scd_core.normalise import Normaliser

    class Read(Protocol):
        """What the tiles are read with: the part of :class:`scd_core.geo.inputs.Prepared` they need."""

        @property
        def compute_grid(self) -> Grid:
            """The grid the readers read."""
            ...

        @property
        def readers(self) -> tuple[WindowReader, WindowReader]:
            """Both dates' window readers."""
            ...

        @property
        def normalisers(self) -> tuple[Normaliser, Normaliser]:
            """Both dates' normalisers."""
            ...

    #: :func:`scd_core.geo.inputs.prepare`, which reads the pairs: given by that stage, which calls on this one
    #: (its model as it takes it: a file, or a module and its metadata).
    Prepare = Callable[[tuple[str, str], Any, DetectOptions, RunLog], AbstractContextManager[Read]]

#: Side of the windows, as the synthetic scenes' (:data:`scd_core.geo.precision.CALIBRATION_SIZE`).
TILE_SIZE = 256
#: Windows taken from each calibration pair, and the lattice of candidates (per side) they come from.
TILES_PER_PAIR = 4
CANDIDATES_PER_SIDE = 4
#: Share of a window's pixels that must be valid in both dates for it to calibrate: most, as a run's
#: tiles are, whose invalid pixels the model reads as zeros too.
MIN_VALID = 0.75


@dataclass(frozen=True)
class RasterCalibration:
    """Calibration tiles read from pairs of the user's rasters, as a run with ``options`` reads them."""

    pairs: tuple[tuple[str, str], ...]
    model: Any  #: as prepare takes it
    options: DetectOptions
    prepare: Prepare

    @classmethod
    def of(cls, options: DetectOptions, model: Any, prepare: Prepare) -> RasterCalibration | None:
        """The calibration ``options.calibrate`` asks for (its rasters in pairs, read by ``prepare``), or None."""
        paths = options.calibrate
        if not paths:
            return None
        return cls(tuple((paths[i], paths[i + 1]) for i in range(0, len(paths), 2)), model, options, prepare)

    @property
    def key(self) -> str:
        """What the tiles depend on, as a short hash: each raster (a local file by its path, size and
        time, not its contents, which may be gigabytes), the bands and the stretch."""
        digest = hashlib.sha256(repr((self.options.bands, self.options.scale)).encode())
        for name in (name for pair in self.pairs for name in pair):
            digest.update(repr(_identity(name)).encode())
        return digest.hexdigest()[:16]

    def tiles(self, log: RunLog) -> list[tuple[np.ndarray, np.ndarray]]:
        """Normalised 1×C×H×W float32 tile pairs of every calibration pair."""
        from scd_core.geo.options import DetectOptions

        given = self.options  # what reads the pixels: bands and stretch, where and how (no areas or masks)
        whole = DetectOptions(bands=given.bands, scale=given.scale, device=given.device, runtime=given.runtime)
        tiles: list[tuple[np.ndarray, np.ndarray]] = []
        for pair in self.pairs:
            with self.prepare(pair, self.model, whole, log) as run:
                tiles += _tiles_of(run, pair)
        return tiles


def _identity(name: str) -> tuple:
    """A raster's local file by its path, size and time; a remote one by its name."""
    path = main_file(name)
    if path is None:
        return (name,)
    stat = path.stat()
    return (str(path.absolute()), stat.st_size, stat.st_mtime_ns)


def _tiles_of(run: Read, pair: tuple[str, str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to :data:`TILES_PER_PAIR` valid windows of ``run``'s compute grid, spread over it, normalised."""
    grid = run.compute_grid
    size = min(TILE_SIZE, grid.height, grid.width) // 32 * 32
    if size < 64:
        raise NoDataError(f"--calibrate: the pair is under 64 pixels a side where it overlaps ({pair[1]})", pair[0])
    rows = np.linspace(0, grid.height - size, CANDIDATES_PER_SIDE).astype(int)
    cols = np.linspace(0, grid.width - size, CANDIDATES_PER_SIDE).astype(int)
    chosen = []
    for window in (Window(int(c), int(r), size, size) for r in sorted(set(rows)) for c in sorted(set(cols))):
        (raw1, valid1), (raw2, valid2) = (reader.read(window) for reader in run.readers)
        valid = valid1 & valid2
        if valid.mean() >= MIN_VALID:
            x = [normaliser(raw) for normaliser, raw in zip(run.normalisers, (raw1, raw2), strict=True)]
            for date in x:
                date[:, ~valid] = 0.0  # as the engine feeds invalid pixels
            chosen.append((x[0][None].astype(np.float32), x[1][None].astype(np.float32)))
    if not chosen:
        raise NoDataError(
            f"--calibrate: no {size}² window of the pair is {100 * MIN_VALID:.0f}% valid in both dates ({pair[1]})",
            pair[0],
        )
    spread = np.linspace(0, len(chosen) - 1, min(TILES_PER_PAIR, len(chosen))).round().astype(int)
    return [chosen[i] for i in sorted(set(spread))]
