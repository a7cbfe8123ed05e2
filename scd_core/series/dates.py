"""The date of each raster of a series, and the order the series runs in.

Where a date comes from, first found wins:

1. ``--dates D1,D2,…``, one per raster by position: ``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY-MM`` or
   ``YYYY`` (yearly mosaics), all to the same precision (2023 and 2023-06 cannot be ordered).
2. The file's metadata, for every raster: an acquisition tag of GDAL's default domain
   (:data:`ACQUISITION_TAGS`: ``ACQUISITION_DATE``, ``DATE_ACQUIRED``, ``SENSING_TIME``, ``DATETIME``…),
   else a Sentinel-2 or Landsat name in its path (``S2A_MSIL2A_20230615T103031_…``,
   ``T32TQM_20230615T103031_B04_10m.jp2``, ``LC08_L2SP_190025_20230615_20230622_02_T1_…``), else
   ``TIFFTAG_DATETIME``, last because it is as often the time the file was written as the scene's.
   Metadata dates are days (``YYYY-MM-DD``); a time of day is dropped.
3. The order given, when a raster's metadata has no date: the dates are then 1, 2, 3…

Rasters are ordered by date (the command line's order need not be), and no two may share one.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scd_core.errors import InvalidOptionError

#: Tags of GDAL's default domain that hold an acquisition date or time, in the order they are read.
ACQUISITION_TAGS = (
    "ACQUISITION_DATE",
    "ACQUISITION_DATETIME",
    "DATE_ACQUIRED",
    "SENSING_TIME",
    "SENSING_DATE",
    "DATATAKE_1_DATATAKE_SENSING_START",
    "PRODUCT_START_TIME",
    "DATETIME",
)
#: A file's own time, read after the names (see the module docstring).
FILE_TIME_TAG = "TIFFTAG_DATETIME"
#: A date at the start of a tag's value: ``2023-06-15``, ``2023:06:15 10:30:00`` (TIFF), ``20230615T…``.
_TAG_DATE = re.compile(r"^\s*(\d{4})[-:/]?(\d{2})[-:/]?(\d{2})(?!\d)")
#: Sentinel-2 products (``S2A_MSIL2A_20230615T103031_…``) and granule files (``T32TQM_20230615T103031_…``).
_SENTINEL2 = re.compile(r"(?:S2[A-D]_MSI\w{3}_|(?:^|[_/])T\d{2}[A-Z]{3}_)(\d{4})(\d{2})(\d{2})T\d{6}")
#: Landsat Collection names: sensor, level, path/row, then the acquisition date (``LC08_L2SP_190025_20230615_…``).
_LANDSAT = re.compile(r"L[COTEM]0\d_L\w{3}_\d{6}_(\d{4})(\d{2})(\d{2})_\d{8}_\d{2}_[A-Z0-9]{2}")
#: ``--dates`` values, by precision.
_GIVEN = (
    (re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$"), "day"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})$"), "year"),
)


@dataclass(frozen=True)
class Dated:
    """One raster of the series, its date code (``2023-06-15``, ``2023``, or its position ``1``) and its
    mask (``--mask-series``)."""

    path: str
    date: str
    mask: str | None = None


def _day(year: str, month: str, day: str) -> str | None:
    """``YYYY-MM-DD`` of a calendar day, None where there is no such day (``20231399``)."""
    try:
        return datetime.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def parse_given(text: str) -> tuple[str, str]:
    """A ``--dates`` value as its ISO code and its precision (day, month or year)."""
    for pattern, precision in _GIVEN:
        if match := pattern.match(text.strip()):
            parts = match.groups()
            if precision == "day" and (code := _day(*parts)):
                return code, precision
            if precision == "month" and 1 <= int(parts[1]) <= 12:
                return f"{parts[0]}-{parts[1]}", precision
            if precision == "year":
                return parts[0], precision
    raise InvalidOptionError(f"--dates: {text!r} is not a date; give YYYY-MM-DD, YYYYMMDD, YYYY-MM or YYYY")


def given_dates(text: str, count: int) -> list[str]:
    """The dates of ``--dates``: one per raster, all to one precision."""
    values = text.split(",")
    if len(values) != count:
        raise InvalidOptionError(f"--dates gives {len(values)} dates for {count} rasters; give one per raster")
    parsed = [parse_given(value) for value in values]
    precisions = sorted({precision for _, precision in parsed})
    if len(precisions) > 1:
        raise InvalidOptionError(
            f"--dates mixes precisions ({', '.join(precisions)}), which cannot be ordered; give every date alike"
        )
    return [code for code, _ in parsed]


def _from_tag(tags: dict[str, str], key: str) -> str | None:
    value = next((v for k, v in tags.items() if k.upper() == key), None)
    match = _TAG_DATE.match(value) if value else None
    return _day(*match.groups()) if match else None


def _from_name(path: str) -> str | None:
    """The date in a Sentinel-2 or Landsat name: the file's own, else its folders' (a SAFE product)."""
    name = Path(path).name
    for text in (name, path):
        for pattern in (_SENTINEL2, _LANDSAT):
            if (match := pattern.search(text)) and (day := _day(*match.groups())):
                return day
    return None


def metadata_date(path: str, tags: dict[str, str]) -> str | None:
    """A raster's date from its tags (GDAL's default domain) and its name, in the order of the module
    docstring; None when neither tells one."""
    for key in ACQUISITION_TAGS:
        if day := _from_tag(tags, key):
            return day
    return _from_name(path) or _from_tag(tags, FILE_TIME_TAG)


def order(
    paths: Sequence[str], dates: Sequence[str | None], given: bool, masks: Sequence[str | None]
) -> tuple[list[Dated], str]:
    """The rasters (with their ``masks``) in date order, and how their dates were found (for the log).

    ``dates`` are ``--dates`` (``given``) or the metadata's (None where a raster has none, and then
    the order given stands)."""
    if not given and any(date is None for date in dates):
        missing = sum(date is None for date in dates)
        how = f"dates are the order given (1..{len(paths)}): {missing} of {len(paths)} rasters' metadata tell none"
        return [Dated(p, str(n), m) for n, (p, m) in enumerate(zip(paths, masks, strict=True), start=1)], how
    seen: dict[str, str] = {}
    for path, date in zip(paths, dates, strict=True):
        assert date is not None
        if date in seen:
            where = "--dates gives" if given else "their metadata give"
            raise InvalidOptionError(
                f"{seen[date]} and {path} have one date, {date} ({where} it); dates must differ: give them with --dates"
            )
        seen[date] = path
    ordered = zip(paths, dates, masks, strict=True)
    dated = sorted((Dated(path, date, mask) for path, date, mask in ordered if date), key=lambda d: d.date)
    return dated, "dates from --dates" if given else "dates from the rasters' metadata"
