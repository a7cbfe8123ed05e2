"""Every option of a detection run, its default and its rule, in one place: :class:`DetectOptions`.

The API (``scd_core.detect(..., **options)``), ``scd detect`` and ``scd batch`` all build one
:class:`DetectOptions`; its fields carry the command-line flag, metavar and help of each option, from
which :func:`add_arguments` makes the flags, so a default exists once. A value that breaks its rule
raises :class:`~scd_core.errors.InvalidOptionError` naming the flag, when the options are made:
before any file is opened and before torch is imported.

Some defaults depend on the checkpoint or the device (``None`` below): :meth:`DetectOptions.resolved`
fills them in once both are known and checks the rules that depend on them (the overlap against the
checkpoint's tile size).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scd_core.errors import InvalidOptionError
from scd_core.geo.normalise import NAMED_SCALES, Scale, parse_scale
from scd_core.models import STRIDE

#: Tiles per forward pass when ``--batch`` is not given, by device type.
DEFAULT_BATCH = {"cuda": 8, "cpu": 2}
DEVICE_CHOICES = "auto, cpu, cuda or cuda:i"
#: How a changed pixel's two classes are chosen (:mod:`scd_core.geo.blending`): ``distinct``, the most
#: probable pair of different classes; ``paper``, each date's arg-max (ASN eq. 1 / eq. 12).
DECODINGS = ("distinct", "paper")


@dataclass(frozen=True)
class Flag:
    """How an option appears on the command line (``scope``: the sub-commands that offer it)."""

    name: str
    help: str
    metavar: str | None = None
    type: Any = str
    scope: tuple[str, ...] = ("detect", "batch")
    #: turns the flag's text into the option's value (``--bands 3,2,1`` → ``(3, 2, 1)``)
    parse: Callable[[str], Any] | None = None


@dataclass(frozen=True)
class DetectOptions:
    """The options of one detection run (see ``scd detect --help``); ``None``: decided per run."""

    aoi: str | Path | None = None
    bbox: str | None = None
    bands: tuple[int, ...] | None = None
    tile: int | None = None
    overlap: int | None = None
    batch: int | None = None
    device: str = "auto"
    runtime: str = "auto"
    threshold: float | None = None
    decode: str = "distinct"
    mmu: int = 9
    min_area: float = 0.0
    simplify: float = 0.0
    scale: Scale | None = None
    overwrite: bool = False
    #: Shift of the tile grid in pixels (the API's only; results must not depend on it).
    tile_offset: int = 0

    def __post_init__(self) -> None:
        set_value = object.__setattr__  # frozen: normalise the values once, here
        if self.bands is not None:
            set_value(self, "bands", tuple(self.bands))
        if self.scale is not None and self.scale not in NAMED_SCALES:
            set_value(self, "scale", _check_scale(self.scale))
        _check(self)

    def keywords(self) -> dict[str, Any]:
        """The options as keyword arguments of :func:`scd_core.detect`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def request(self) -> dict[str, Any]:
        """The options as asked for (before per-run defaults), as JSON data: with the inputs'
        fingerprints, what tells whether an earlier run did the same work (``scd batch``)."""
        asked = {name: value for name, value in self.keywords().items() if name != "overwrite"}
        asked["aoi"] = None if self.aoi is None else str(Path(self.aoi).absolute())
        return json.loads(json.dumps(asked))

    def record(
        self, device: str, amp: bool, scale: Sequence[str], runtime: str, providers: Sequence[str]
    ) -> dict[str, Any]:
        """The ``options`` of run.json: these (resolved) options, the device, AMP and runtime (with
        ONNX Runtime's execution providers) the run used, and how each date was scaled (``scale``:
        one description per date)."""
        return {
            "aoi": None if self.aoi is None else str(Path(self.aoi).absolute()),
            "bbox": self.bbox,
            "bands": None if self.bands is None else list(self.bands),
            "tile": self.tile,
            "overlap": self.overlap,
            "tile_offset": self.tile_offset,
            "batch": self.batch,
            "device": device,
            "amp": amp,
            "runtime": runtime,
            "providers": list(providers),
            "threshold": self.threshold,
            "decode": self.decode,
            "mmu_pixels": self.mmu,
            "min_area_m2": self.min_area,
            "simplify_m": self.simplify,
            "scale": list(scale),
        }

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


def _parse_bands(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InvalidOptionError(f"--bands takes comma-separated band numbers such as 1,2,3, got {text!r}") from None


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
    """The rules each value must keep; the message names the flag."""
    tile, overlap = options.tile, options.overlap
    if tile is not None and (tile <= 0 or tile % STRIDE):
        raise InvalidOptionError(f"--tile must be a positive multiple of {STRIDE}, got {tile}")
    if overlap is not None and overlap < 0:
        raise InvalidOptionError(f"--overlap must not be negative, got {overlap}")
    if overlap is not None and tile is not None and overlap > tile // 2:
        raise InvalidOptionError(f"--overlap must lie in 0..{tile // 2} (half the tile of {tile}), got {overlap}")
    if options.batch is not None and options.batch < 1:
        raise InvalidOptionError(f"--batch must be at least 1, got {options.batch}")
    if options.threshold is not None and not 0 < options.threshold < 1:
        raise InvalidOptionError(f"--threshold must lie in (0, 1), got {options.threshold}")
    if options.decode not in DECODINGS:
        raise InvalidOptionError(f"--decode takes {' or '.join(DECODINGS)}, got {options.decode!r}")
    if options.mmu < 0:
        raise InvalidOptionError(f"--mmu must not be negative, got {options.mmu}")
    if options.min_area < 0:
        raise InvalidOptionError(f"--min-area must not be negative, got {options.min_area}")
    if options.simplify < 0:
        raise InvalidOptionError(f"--simplify must not be negative, got {options.simplify}")
    if options.bands is not None and (not options.bands or min(options.bands) < 1):
        raise InvalidOptionError(f"--bands takes band numbers from 1, got {list(options.bands)}")
    if options.aoi is not None and options.bbox is not None:
        raise InvalidOptionError("--aoi and --bbox both limit the run; give one of them")
    if options.runtime not in ("auto", "torch", "onnxruntime"):
        raise InvalidOptionError(f"--runtime takes auto, torch or onnxruntime, got {options.runtime!r}")
    device = options.device
    if not (device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())):
        raise InvalidOptionError(f"--device takes {DEVICE_CHOICES}, got {device!r}")


#: The command-line flag of every option but ``tile_offset``; help texts name a default only where
#: it is decided per run, the others are added from :class:`DetectOptions` by :func:`add_arguments`.
FLAGS = {
    "aoi": Flag(
        "--aoi",
        "vector file (GeoPackage, GeoJSON, Shapefile...) whose polygons limit the run",
        "FILE",
        str,
        ("detect",),
    ),
    "bbox": Flag(
        "--bbox", "box limiting the run, in CRS (default CRS: BEFORE's)", "xmin,ymin,xmax,ymax[,CRS]", str, ("detect",)
    ),
    "bands": Flag(
        "--bands", "bands of both rasters to read (default: from the checkpoint)", "1,2,3", parse=_parse_bands
    ),
    "tile": Flag("--tile", f"tile edge in pixels, a multiple of {STRIDE} (default: the checkpoint's)", "PX", int),
    "overlap": Flag(
        "--overlap",
        "minimum overlap of neighbouring tiles, at most half the tile "
        "(default: a quarter of the tile, which keeps seams under 0.5%% of pixels)",
        "PX",
        int,
    ),
    "batch": Flag(
        "--batch",
        f"tiles per forward pass (default: {DEFAULT_BATCH['cuda']} on a GPU, {DEFAULT_BATCH['cpu']} on CPU)",
        "N",
        int,
    ),
    "device": Flag("--device", DEVICE_CHOICES),
    "runtime": Flag(
        "--runtime",
        "auto (ONNX Runtime on a CPU, torch with AMP on a GPU), torch or onnxruntime",
        "auto|torch|onnxruntime",
    ),
    "threshold": Flag(
        "--threshold",
        "change-probability threshold τ, in (0, 1) (default: the checkpoint's)",
        "TAU",
        float,
    ),
    "decode": Flag(
        "--decode",
        "how a changed pixel's classes are chosen: distinct (the most probable pair of different classes, "
        "so no change is from a class to itself) or paper (each date's arg-max, ASN eq. 1, which can name "
        "one class twice)",
        "distinct|paper",
    ),
    "mmu": Flag(
        "--mmu",
        "minimum mapping unit in pixels: regions of one change type with fewer pixels merge into their "
        "largest neighbour before polygons are made; 0 keeps every pixel",
        "PX",
        int,
    ),
    "min_area": Flag("--min-area", "drop change polygons under this area in m² (after the --mmu sieve)", "M2", float),
    "simplify": Flag("--simplify", "simplify polygon outlines with this tolerance in metres", "M", float),
    "scale": Flag(
        "--scale",
        "how raw pixel values reach the model's range: auto (8-bit as is, other dtypes 2-98%% stretched, one "
        "stretch for both dates over their whole overlap), auto-per-date, none (raw), or LOW,HIGH mapped "
        "linearly, e.g. 0,3000 for Sentinel-2 L1C (default: the checkpoint's, else auto)",
        "auto|auto-per-date|none|LOW,HIGH",
        parse=parse_scale,
    ),
    "overwrite": Flag("--overwrite", "write into a non-empty output folder, replacing outputs", type=bool),
}


def flags(scope: str) -> list[tuple[str, Flag]]:
    """``(field name, flag)`` of the options a sub-command offers, in the order of the fields."""
    names = [f.name for f in dataclasses.fields(DetectOptions)]
    return [(name, FLAGS[name]) for name in names if name in FLAGS and scope in FLAGS[name].scope]


def add_arguments(parser: argparse.ArgumentParser, scope: str) -> None:
    """Add the flags of ``scope`` (``"detect"`` or ``"batch"``) to ``parser``; their defaults are
    left unset (``None``), so :class:`DetectOptions` applies its own."""
    defaults = {f.name: f.default for f in dataclasses.fields(DetectOptions)}
    group = parser.add_mutually_exclusive_group() if scope == "detect" else None
    for name, flag in flags(scope):
        target = group if group is not None and name in ("aoi", "bbox") else parser
        if flag.type is bool:
            target.add_argument(flag.name, dest=name, action="store_true", default=None, help=flag.help)
            continue
        shown = (
            ""
            if defaults[name] is None
            else f" (default: {defaults[name]:g})"
            if flag.type is float
            else (f" (default: {defaults[name]})")
        )
        target.add_argument(flag.name, dest=name, type=flag.type, metavar=flag.metavar, help=flag.help + shown)


def from_arguments(args: argparse.Namespace, scope: str, **values: Any) -> DetectOptions:
    """The options given on the command line (and ``values``, e.g. a pair's AOI), checked."""
    given = {}
    for name, flag in flags(scope):
        text = getattr(args, name)
        if text is not None:
            given[name] = flag.parse(text) if flag.parse else text
    return DetectOptions(**given, **values)
