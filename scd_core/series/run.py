"""A series' checks before any work, and its products once every pair is done.

The pairs themselves run as ``scd batch`` runs pairs (:mod:`scd_core.batch`: skipped when done
before with the same request, the model loaded once, or one Dask task per pair), each into
``OUT_DIR/<start>_<end>``. The products are then made again from the pairs' outputs, in a hidden
folder of OUT_DIR, and moved in one file at a time, each whole (:data:`PRODUCTS`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from scd_core.errors import InvalidOptionError, OutputExistsError, UnwritableOutputError
from scd_core.geo import rasters
from scd_core.geo.grid import Grid
from scd_core.geo.masks import open_mask
from scd_core.geo.staging import signals_deferred
from scd_core.series import dates as dating
from scd_core.series.periods import Period, periods
from scd_core.series.products import series_grid, write_rasters
from scd_core.series.report import series_page
from scd_core.series.tables import write_periods_csv, write_series_csv, write_series_gpkg
from scd_core.vocabulary.series import MAX_DATES

#: The series' own outputs in OUT_DIR, beside the pairs' folders.
PRODUCTS = {
    "change_count": "change_count.tif",
    "first_change": "first_change.tif",
    "last_change": "last_change.tif",
    "series": "series.csv",
    "periods": "periods.csv",
    "series_layer": "series.gpkg",
    "report": "report.html",
}
#: Hidden folders of OUT_DIR the products are made in (a killed run's are removed by the next).
WORK_PREFIX = ".series-"


@dataclass(frozen=True)
class Plan:
    """What a series will run: its rasters and periods in date order, and how their dates were found."""

    dated: list[dating.Dated]
    periods: list[Period]
    dates_from: str
    grid: Grid  #: the first date's grid, which every pair runs on


def _metadata_dates(paths: Sequence[str]) -> list[str | None]:
    """Each raster's date from its metadata (opening it checks it is a raster GDAL places, too)."""
    found = []
    for number, path in enumerate(paths, start=1):
        with rasters.open_raster(path, f"RASTER{number}") as dataset:
            found.append(dating.metadata_date(path, dataset.tags()))
    return found


def _check_pairs(planned: Sequence[Period], mask_values: Sequence[int] | None) -> None:
    """Each pair's rasters share ground and its masks can mask it (the engine's own checks, made
    before any pair runs)."""
    for period in planned:
        paths = (period.start.path, period.end.path)
        with rasters.open_raster(paths[0], "BEFORE") as before, rasters.open_raster(paths[1], "AFTER") as after:
            overlap = rasters.overlap_grid(before, after, paths)
        for dated in (period.start, period.end):
            if dated.mask is not None:
                open_mask(dated.mask, f"--mask-series (the mask of {dated.date})", mask_values, overlap).close()


def plan(
    paths: Sequence[str],
    dates: str | None,
    pairing: str,
    masks: Sequence[str] | None = None,
    mask_values: Sequence[int] | None = None,
) -> Plan:
    """Check a series' rasters, dates and masks (one per raster, or none) and plan its periods, before
    anything is written.

    Raises :class:`~scd_core.errors.ScdInputError` naming the option or file at fault."""
    if len(paths) < 2:
        raise InvalidOptionError(f"scd series needs two rasters or more, one per date; got {len(paths)}")
    if len(paths) > MAX_DATES:
        raise InvalidOptionError(f"scd series takes at most {MAX_DATES} rasters, got {len(paths)}")
    given = dating.given_dates(dates, len(paths)) if dates is not None else None
    if masks is not None and len(masks) != len(paths):
        raise InvalidOptionError(
            f"--mask-series gives {len(masks)} masks for {len(paths)} rasters; give one per raster, by position"
        )
    names = [rasters.source_name(path) for path in paths]
    found = _metadata_dates(names)
    mask_names = [None] * len(paths) if masks is None else [rasters.source_name(mask) for mask in masks]
    dated, how = dating.order(names, given or found, given is not None, mask_names)
    planned = periods(dated, pairing)
    _check_pairs(planned, mask_values)
    with rasters.open_raster(dated[0].path, "RASTER1") as first:
        grid = Grid(first.crs.to_string(), first.transform, first.width, first.height)
    return Plan(dated, planned, how, grid)


def prepare_out_dir(out_dir: str | Path, series: Plan) -> Path:
    """OUT_DIR, created, with the work folders of a killed run removed; refused when a product would
    replace one of the series' inputs."""
    if not str(out_dir).strip():
        raise InvalidOptionError("-o/--out-dir is empty; name the folder that receives the series")
    out_dir = Path(out_dir).absolute()
    inputs = {Path(file).resolve() for d in series.dated for file in (d.path, d.mask) if file and Path(file).exists()}
    for name in PRODUCTS.values():
        if (out_dir / name).resolve() in inputs:
            raise OutputExistsError(f"the series would write {name} over an input; choose another folder", out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UnwritableOutputError(f"cannot create the output folder ({error.strerror})", out_dir) from None
    for leftover in out_dir.glob(f"{WORK_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return out_dir


def write_products(out_dir: Path, series: Plan, pairing: str) -> dict[str, Path]:
    """The series' products from its pairs' outputs (every pair done), moved into ``out_dir``."""
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=WORK_PREFIX, dir=out_dir)))
        change_maps = [out_dir / p.folder / "change_type.tif" for p in series.periods]
        grid = series_grid(series.grid, change_maps)
        write_rasters(change_maps, series.periods, grid, work)
        write_series_csv(work / PRODUCTS["series"], series.periods, out_dir)
        write_periods_csv(work / PRODUCTS["periods"], series.periods, out_dir)
        write_series_gpkg(work / PRODUCTS["series_layer"], series.periods, out_dir, grid.crs)
        page = series_page(out_dir, work, series.periods, pairing, series.dates_from)
        (work / PRODUCTS["report"]).write_text(page, encoding="utf-8")
        with signals_deferred():
            for name in PRODUCTS.values():
                os.replace(work / name, out_dir / name)
    return {key: out_dir / name for key, name in PRODUCTS.items()}
