"""What one run of ``scd detect`` is asked to do, and its command-line arguments (the engine's contract).

The options carry the names, and become the flags, of the engine's option vocabulary
(:mod:`scd_core.vocabulary`, read through :mod:`.shared`), so a request cannot name an option the
engine does not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .shared import vocabulary


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
    #: ``auto``, ``auto-per-date``, ``none`` or ``LOW,HIGH`` (the engine's ``--scale``).
    scale: str | None = None
    tile: int | None = None
    overlap: int | None = None
    batch: int | None = None
    device: str | None = None
    runtime: str | None = None
    precision: str | None = None
    decode: str | None = None
    threshold: float | None = None
    mmu: int | None = None
    min_area: float | None = None
    #: Each date's mask (a GDAL name, absolute) and the values masked (``3,8,9,10``; None: non-zero).
    mask_before: str | None = None
    mask_after: str | None = None
    mask_values: str | None = None

    def arguments(self) -> list[str]:
        """``detect ...`` arguments, with JSON-lines progress on stdout."""
        arguments = ["detect", self.before, self.after, "-o", self.out_dir, "--model", self.model]
        for option in vocabulary.DETECT:
            value = getattr(self, option.name, None)
            if option.name == "bbox" and self.bbox:
                corners = ",".join(repr(float(number)) for number in self.bbox)
                value = f"{corners},{self.bbox_crs}" if self.bbox_crs else corners
            elif option.name == "bands":
                value = ",".join(str(band) for band in self.bands) or None
            if value is not None and option.type is not bool:
                arguments += [option.flag, str(value)]
        return [*arguments, "--progress", "json"]
