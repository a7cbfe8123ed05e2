"""``scd series RASTER1 RASTER2 … -o OUT_DIR [--pairs consecutive|first] [--dates D1,D2,…] [...]``.

``scd detect`` over the periods of a series of dates, each pair into ``OUT_DIR/<start>_<end>/``, then
the series' products (:mod:`scd_core.series`). The pairs run as ``scd batch`` runs its pairs (in this
process, or one Dask task each with ``--cluster``), so a re-run skips the pairs done before with the
same request; the products are made again each time. With ``--progress json`` stdout carries the
pairs' detect events (with a ``pair`` key), a ``pair`` event per pair, then a ``series`` event.

Exit code: 0 when every pair is done or skipped and the products are made, 1 when a pair failed (no
products then), 2 for bad input (nothing written), 130/143 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scd_core import events
from scd_core.batch.runs import Outcome, counts, sweep_staging, table
from scd_core.cli.arguments import add_option, detect_options
from scd_core.cli.batch import run_each
from scd_core.cli.detect import (
    EXIT_TERMINATED,
    Terminated,
    add_detection_options,
    cancelled_event,
    check_cluster_options,
    interrupts_raise,
)
from scd_core.errors import CheckpointError, InvalidOptionError
from scd_core.geo.progress import JsonLines
from scd_core.series.run import Plan, plan, prepare_out_dir, write_products
from scd_core.vocabulary.series import SERIES


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd series`` sub-command's parser."""
    parser = commands.add_parser(
        "series",
        help="detect changes over a series of dates: each period's pair, then when each pixel changed",
        description="Run scd detect over the periods of RASTER1 RASTER2 … (ordered by date) into "
        "OUT_DIR/<date_i>_<date_j>, then write change_count.tif, first_change.tif and last_change.tif (on the "
        "first raster's grid), series.csv, periods.csv, series.gpkg and report.html. Dates come from --dates, "
        "else the files' metadata (acquisition tags, Sentinel-2 and Landsat names), else the order given. "
        "Pairs done before with the same request are skipped.",
    )
    parser.add_argument("rasters", nargs="*", metavar="RASTER", help="one raster per date, two or more")
    parser.add_argument("-o", "--out-dir", required=True, help="folder that receives the pairs' folders and products")
    for option in SERIES:
        add_option(parser, option)
    add_detection_options(parser, "series")
    return parser


def _run_pairs(args: argparse.Namespace, series: Plan, out_dir: Path, outcomes: list[Outcome]) -> int | None:
    """Every pair of the series, here or on the cluster; an exit code when interrupted, else None."""
    options = detect_options(args, "series", grid=series.grid)
    pairs = [period.pair(options.aoi) for period in series.periods]
    for leftover in sweep_staging(out_dir, [pair.id for pair in pairs]):
        print(f"scd series: removed {leftover}, left by a run that was killed", file=sys.stderr)
    with interrupts_raise():
        try:
            run_each(args, pairs, out_dir, options, outcomes)
        except KeyboardInterrupt as interrupt:
            if args.progress == "json":
                JsonLines()(cancelled_event(interrupt))
            if not isinstance(interrupt, Terminated):
                raise
            print("scd series: terminated; the pairs in progress left nothing behind", file=sys.stderr)
            return EXIT_TERMINATED
    return None


def run(args: argparse.Namespace) -> int:
    """Run ``scd series``; its exit code."""
    check_cluster_options(args)
    if args.mask_values is not None and not args.mask_series:
        raise InvalidOptionError("--mask-values says which values of the masks to mask: give --mask-series")
    options = detect_options(args, "series")  # checked before any file is read
    if not Path(args.model).is_file():
        raise CheckpointError("model file not found", args.model)
    series = plan(args.rasters, args.dates, args.pairing, args.mask_series, options.mask_values)
    out_dir = prepare_out_dir(args.out_dir, series)
    order = ", ".join(f"{Path(d.path).name} ({d.date})" for d in series.dated)
    print(f"scd series: {len(series.periods)} periods, {series.dates_from}: {order}", file=sys.stderr)
    outcomes: list[Outcome] = []
    if (stopped := _run_pairs(args, series, out_dir, outcomes)) is not None:
        return stopped
    done = counts(outcomes)
    print(table(outcomes), file=sys.stderr)
    print(f"scd series: {done['done']} done, {done['skipped']} skipped, {done['failed']} failed", file=sys.stderr)
    if done["failed"]:
        print("scd series: the series' products need every pair; rerun to finish the failed ones", file=sys.stderr)
        return 1
    products = write_products(out_dir, series, args.pairing)
    print(f"scd series: products in {out_dir}: {', '.join(p.name for p in products.values())}", file=sys.stderr)
    if args.progress == "json":
        periods = [{"code": p.number, "label": p.label, "folder": p.folder} for p in series.periods]
        JsonLines()(events.series({key: str(path) for key, path in products.items()}, periods))
    return 0
