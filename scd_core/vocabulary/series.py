"""The options of ``scd series`` (the plugin's Detect changes in a time series) beside those of a detection run."""

from __future__ import annotations

from .option import Option

#: ``--pairs``: each date against the next, or the first date against each later one (``scd_core.series.periods``).
PAIRINGS = ("consecutive", "first")
#: The most rasters a series takes: its maps code periods 1..254 in uint8, 255 being nodata.
MAX_DATES = 255

SERIES = (
    Option(
        "pairing",
        "--pairs",
        "Pairs",
        "consecutive (each date against the next) or first (the first date against each later one)",
        default="consecutive",
        choices=PAIRINGS,
    ),
    Option(
        "dates",
        "--dates",
        "Dates",
        "the rasters' dates, one per raster by position: YYYY-MM-DD, YYYYMMDD, YYYY-MM or YYYY (default: the files' "
        "metadata, else the order given)",
        metavar="D1,D2,...",
    ),
    Option(
        "mask_series",
        "--mask-series",
        "Masks of the dates",
        "one mask per raster, by position (clouds, shadows; any grid or CRS): its non-zero pixels (or those of "
        "--mask-values) are nodata in every output of the pairs that date is in",
        values="+",
        metavar="MASK",
    ),
)
