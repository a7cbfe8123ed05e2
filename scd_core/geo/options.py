"""The options of a detection run as one value: :class:`DetectOptions`.

The API (``scd_core.detect(..., **options)``), ``scd detect`` and ``scd batch`` all build one
:class:`DetectOptions`. Each option's flag, default, range and check are those of
:mod:`scd_core.vocabulary`, which the QGIS plugin reads too (the command line makes its flags from
it: :mod:`scd_core.cli.arguments`). A value that breaks its rule raises
:class:`~scd_core.errors.InvalidOptionError` naming the flag, when the options are made: before any
file is opened and before torch is imported.

Some defaults depend on the checkpoint or the device (``None`` below): :meth:`DetectOptions.resolved`
fills them in once both are known and checks the rules that depend on them (the overlap against the
checkpoint's tile size).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scd_core import vocabulary
from scd_core.errors import InvalidOptionError
from scd_core.geo.grid import Grid
from scd_core.normalise import NAMED_SCALES, Scale
from scd_core.vocabulary import DEFAULT_BATCH


@dataclass(frozen=True)
class DetectOptions:
    """The options of one detection run (see ``scd detect --help``); ``None``: decided per run."""

    aoi: str | Path | None = None
    bbox: str | None = None
    bands: tuple[int, ...] | None = None
    #: A zone layer and its name field: the run adds its change by zone (:mod:`scd_core.accounting.zones`).
    zones: str | Path | None = None
    zone_field: str | None = None
    tile: int | None = None
    overlap: int | None = None
    batch: int | None = None
    device: str = vocabulary.OPTIONS["device"].default
    runtime: str = vocabulary.OPTIONS["runtime"].default
    precision: str = vocabulary.OPTIONS["precision"].default
    #: Rasters, before and after in turn, that calibrate and judge ``precision`` (:mod:`scd_core.geo.calibration`).
    calibrate: tuple[str, ...] | None = None
    threshold: float | None = None
    decode: str = vocabulary.OPTIONS["decode"].default
    mmu: int = vocabulary.OPTIONS["mmu"].default
    min_area: float = vocabulary.OPTIONS["min_area"].default
    simplify: float = vocabulary.OPTIONS["simplify"].default
    scale: Scale | None = None
    #: Each date's mask (clouds, shadows): a raster whose non-zero pixels, or those of ``mask_values``,
    #: are nodata in every output (:mod:`scd_core.geo.masks`).
    mask_before: str | Path | None = None
    mask_after: str | Path | None = None
    mask_values: tuple[int, ...] | None = None
    overwrite: bool = vocabulary.OPTIONS["overwrite"].default
    #: Shift of the tile grid in pixels (the API's only; results must not depend on it).
    tile_offset: int = 0
    #: The pixels the outputs lie on when not BEFORE's (the API's only): a grid that the dates' overlap
    #: clips as it clips BEFORE's, both dates resampled onto it where needed. ``scd series`` runs every
    #: pair on its first date's grid, so that the pairs' maps line up.
    grid: Grid | None = None

    def __post_init__(self) -> None:
        set_value = object.__setattr__  # frozen: normalise the values once, here
        if self.bands is not None:
            set_value(self, "bands", tuple(self.bands))
        if self.calibrate is not None:
            set_value(self, "calibrate", tuple(str(path) for path in self.calibrate))
        if self.mask_values is not None:
            set_value(self, "mask_values", _check_mask_values(self.mask_values))
        if self.scale is not None and self.scale not in NAMED_SCALES:
            set_value(self, "scale", _check_scale(self.scale))
        _check(self)

    def request(self) -> dict[str, Any]:
        """The options as asked for (before per-run defaults), as JSON data: with the inputs'
        fingerprints, what tells whether an earlier run did the same work (``scd batch``)."""
        asked = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "overwrite"}
        for name in ("aoi", "zones"):
            asked[name] = None if getattr(self, name) is None else str(Path(getattr(self, name)).absolute())
        for name in ("mask_before", "mask_after"):
            asked[name] = None if getattr(self, name) is None else _source_name(getattr(self, name))
        asked["calibrate"] = self._calibration()
        asked["grid"] = _grid_record(self.grid)
        return json.loads(json.dumps(asked))

    def record(
        self, device: str, amp: bool, scale: Sequence[str], runtime: str, providers: Sequence[str], precision: str
    ) -> dict[str, Any]:
        """The ``options`` of run.json: these (resolved) options, the device, AMP and runtime (with
        ONNX Runtime's execution providers) and precision (after its guard) the run used, and how each
        date was scaled (``scale``: one description per date)."""
        return {
            "aoi": None if self.aoi is None else str(Path(self.aoi).absolute()),
            "bbox": self.bbox,
            "bands": None if self.bands is None else list(self.bands),
            "zones": None if self.zones is None else str(Path(self.zones).absolute()),
            "zone_field": self.zone_field,
            "tile": self.tile,
            "overlap": self.overlap,
            "tile_offset": self.tile_offset,
            "batch": self.batch,
            "device": device,
            "amp": amp,
            "runtime": runtime,
            "providers": list(providers),
            "precision": precision,
            "calibrate": self._calibration(),
            "threshold": self.threshold,
            "decode": self.decode,
            "mmu_pixels": self.mmu,
            "min_area_m2": self.min_area,
            "simplify_m": self.simplify,
            "scale": list(scale),
            "mask_before": None if self.mask_before is None else _source_name(self.mask_before),
            "mask_after": None if self.mask_after is None else _source_name(self.mask_after),
            "mask_values": None if self.mask_values is None else list(self.mask_values),
            "grid": _grid_record(self.grid),
        }

    def _calibration(self) -> list[str] | None:
        """``calibrate``'s rasters as run.json names them."""
        return None if self.calibrate is None else [_source_name(path) for path in self.calibrate]

    def resolved(self, tile_size: int, threshold: float, device_type: str) -> DetectOptions:
        """These options with every per-run default filled in, from the checkpoint's tile size and
        threshold and the device type (``"cpu"`` or ``"cuda"``)."""
        tile = self.tile or tile_size
        return dataclasses.replace(
            self,
            tile=tile,
            overlap=tile // 4 if self.overlap is None else self.overlap,
            batch=self.batch or DEFAULT_BATCH[device_type],
            threshold=threshold if self.threshold is None else self.threshold,
        )


def _grid_record(grid: Grid | None) -> dict[str, Any] | None:
    """The ``grid`` option as JSON data: its CRS, its affine transform's six numbers and its size."""
    if grid is None:
        return None
    return {"crs": grid.crs, "transform": list(grid.transform)[:6], "width": grid.width, "height": grid.height}


def _check_scale(scale: Any) -> Scale:
    """``(low, high)`` as floats with ``low < high``; anything else names ``--scale``."""
    if not isinstance(scale, str) and isinstance(scale, Sequence) and len(scale) == 2:
        try:
            low, high = float(scale[0]), float(scale[1])
        except (TypeError, ValueError):
            pass
        else:
            if low < high:
                return (low, high)
    raise InvalidOptionError(f"--scale takes auto, auto-per-date, none or LOW,HIGH with LOW < HIGH, got {scale!r}")


def _check(options: DetectOptions) -> None:
    """The rules each value must keep (:mod:`scd_core.vocabulary`'s, then those that tie two options
    together); the message names the flag."""
    for option in vocabulary.DETECT:
        value = getattr(options, option.name)
        if option.type in (int, float) and value is not None and problem_of_type(value, option.type):
            raise InvalidOptionError(f"{option.flag} {problem_of_type(value, option.type)}")
        if problem := option.problem(value):
            raise InvalidOptionError(f"{option.flag} {problem}")
    if problem := vocabulary.device_problem(options.device):
        raise InvalidOptionError(f"--device {problem}")
    tile, overlap = options.tile, options.overlap
    if overlap is not None and tile is not None and overlap > tile // 2:
        raise InvalidOptionError(f"--overlap must lie in 0..{tile // 2} (half the tile of {tile}), got {overlap}")
    if options.bands is not None and (not options.bands or min(options.bands) < 1):
        raise InvalidOptionError(f"--bands takes band numbers from 1, got {list(options.bands)}")
    if options.aoi is not None and options.bbox is not None:
        raise InvalidOptionError("--aoi and --bbox both limit the run; give one of them")
    if options.calibrate is not None and options.precision == "fp32":
        raise InvalidOptionError("--calibrate calibrates a reduced precision: give --precision int8 or bf16")
    if options.calibrate is not None and (not options.calibrate or len(options.calibrate) % 2):
        raise InvalidOptionError(
            f"--calibrate takes pairs of rasters, before and after in turn; got {len(options.calibrate)}"
        )
    if (options.zones is None) != (options.zone_field is None):
        raise InvalidOptionError("--zones and --zone-field go together: the zone layer and its field that names zones")


def _check_mask_values(values: Any) -> tuple[int, ...]:
    """One or more whole numbers; anything else names ``--mask-values``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise InvalidOptionError(f"--mask-values takes one or more whole numbers such as 3,8,9,10, got {values!r}")
    for value in values:
        if problem := problem_of_type(value, int):
            raise InvalidOptionError(f"--mask-values {problem}")
    return tuple(int(value) for value in values)


def _source_name(source: str | Path) -> str:
    """A mask or calibration raster as run.json names its rasters (:func:`scd_core.geo.rasters.source_name`)."""
    from scd_core.geo.rasters import source_name  # rasterio: imported once a run records itself

    return source_name(source)


def problem_of_type(value: Any, kind: type) -> str | None:
    """A number of the API given as something else (``tile="256"``), which the ranges cannot judge."""
    wanted = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, wanted):
        return f"takes {'a whole number' if kind is int else 'a number'}, got {value!r}"
    return None
