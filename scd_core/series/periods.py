"""The periods of a series: which pairs of dates run, and the codes and names their maps use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from scd_core.batch.pairs import Pair
from scd_core.series.dates import Dated
from scd_core.vocabulary.series import PAIRINGS


@dataclass(frozen=True)
class Period:
    """One pair of the series: ``number`` (1, 2, … in date order) is its code in first_change.tif and
    last_change.tif; its outputs go to ``OUT_DIR/<start>_<end>`` (:attr:`folder`)."""

    number: int
    start: Dated
    end: Dated

    @property
    def folder(self) -> str:
        """The pair's folder in OUT_DIR: ``2023-05-01_2023-06-15``."""
        return f"{self.start.date}_{self.end.date}"

    @property
    def label(self) -> str:
        """How a legend names it: ``2023-05-01 → 2023-06-15``."""
        return f"{self.start.date} → {self.end.date}"

    def pair(self, aoi: str | Path | None) -> Pair:
        """The pair ``scd batch`` would run (its machinery runs the series' pairs)."""
        masks = (None if d.mask is None else Path(d.mask) for d in (self.start, self.end))
        return Pair(self.folder, self.start.path, self.end.path, None if aoi is None else Path(aoi), *masks)


def periods(dated: Sequence[Dated], pairing: str) -> list[Period]:
    """The periods of rasters in date order: ``consecutive`` or ``first`` (:data:`PAIRINGS`)."""
    if pairing == "consecutive":
        ends = list(pairwise(dated))
    elif pairing == "first":
        ends = [(dated[0], later) for later in dated[1:]]
    else:
        raise ValueError(f"pairing must be one of {PAIRINGS}, got {pairing!r}")
    return [Period(number, start, end) for number, (start, end) in enumerate(ends, start=1)]
