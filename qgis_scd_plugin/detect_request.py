"""What one run of ``scd detect`` is asked to do, and its command-line arguments (the engine's contract)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEVICES = ("auto", "cpu", "cuda")
#: The engine's ``--runtime`` choices, ``auto`` first (the dialog's default).
RUNTIMES = ("auto", "torch", "onnxruntime")
#: The engine's ``--decode`` choices, its default first.
DECODINGS = ("distinct", "paper")


@dataclass(frozen=True)
class DetectRequest:
    """Inputs and options of one detection; ``None`` leaves an option to the engine's default.

    Paths and GDAL dataset names are absolute: the worker runs in a folder of its own.
    """

    before: str
    after: str
    out_dir: str
    model: str
    aoi: str | None = None
    #: xmin, ymin, xmax, ymax in ``bbox_crs`` (an authority id such as ``EPSG:32631``).
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: str = ""
    bands: Sequence[int] = ()
    #: ``auto``, ``none`` or ``LOW,HIGH`` (the engine's ``--scale``).
    scale: str | None = None
    tile_size: int | None = None
    overlap: int | None = None
    batch_size: int | None = None
    device: str = "auto"
    runtime: str = "auto"
    decode: str = "distinct"
    threshold: float | None = None
    mmu: int | None = None
    min_area: float | None = None

    def arguments(self) -> list[str]:
        """``detect ...`` arguments, with JSON-lines progress on stdout."""
        arguments = ["detect", self.before, self.after, "-o", self.out_dir, "--model", self.model]
        if self.aoi:
            arguments += ["--aoi", self.aoi]
        if self.bbox:
            corners = ",".join(repr(float(value)) for value in self.bbox)
            arguments += ["--bbox", f"{corners},{self.bbox_crs}" if self.bbox_crs else corners]
        if self.bands:
            arguments += ["--bands", ",".join(str(band) for band in self.bands)]
        for option, value in (
            ("--scale", self.scale),
            ("--tile", self.tile_size),
            ("--overlap", self.overlap),
            ("--batch", self.batch_size),
            ("--threshold", self.threshold),
            ("--mmu", self.mmu),
            ("--min-area", self.min_area),
        ):
            if value is not None:
                arguments += [option, str(value)]
        arguments += ["--device", self.device, "--runtime", self.runtime, "--decode", self.decode, "--progress", "json"]
        return arguments
