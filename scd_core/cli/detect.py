"""``scd detect BEFORE AFTER -o OUT_DIR [--model CKPT] [...]``: semantic change detection on two rasters.

SIGINT exits with 130 and SIGTERM with 143, both within seconds and leaving OUT_DIR as it was.
With ``--progress json`` stdout carries only the worker protocol (:mod:`scd_core.geo.progress`).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from scd_core.errors import ScdInputError
from scd_core.geo.options import add_arguments, from_arguments
from scd_core.geo.progress import STYLES, Reporter, reporter
from scd_core.resources import DEMO_MODEL

EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so the same clean-up runs."""


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` for the duration of a run."""

    def handler(number: int, frame: Any) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def add_detection_options(parser: argparse.ArgumentParser, scope: str) -> None:
    """The model, the options of :class:`~scd_core.geo.options.DetectOptions` offered in ``scope``
    (``"detect"`` or ``"batch"``) and the progress style."""
    parser.add_argument(
        "--model",
        metavar="CKPT",
        default=DEMO_MODEL,
        help="checkpoint saved by scd_core.checkpoint.save (default: the demo model of a source checkout, "
        "resources/models/demo.pt, trained on synthetic scenes only)",
    )
    add_arguments(parser, scope)
    parser.add_argument(
        "--progress", choices=STYLES, default="bar", help="bar (default), json (worker protocol on stdout) or none"
    )


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "detect",
        help="detect semantic changes between two georeferenced rasters",
        description="Detect from-to land-cover changes between BEFORE and AFTER (any raster GDAL reads). Outputs "
        "(OUT_DIR): change_type.tif, before_class.tif, after_class.tif, change_prob.tif (COGs on BEFORE's grid), "
        "changes.gpkg (layer 'changes', areas in m²), summary.csv (from × to matrix in hectares), run.json, "
        "preview.png.",
    )
    parser.add_argument("before", help="raster of the first date; its grid is the output grid")
    parser.add_argument("after", help="raster of the second date; resampled onto BEFORE's grid when needed")
    parser.add_argument(
        "-o", "--out-dir", required=True, help="output folder (created; must be empty unless --overwrite)"
    )
    add_detection_options(parser, "detect")
    return parser


def run_reported(report: Reporter, detect_call) -> Any:
    """Run ``detect_call()`` and report how it failed as a protocol ``error`` event before re-raising."""
    try:
        return detect_call()
    except ScdInputError as error:
        report({"event": "error", "text": str(error), "path": error.path})
        raise
    except KeyboardInterrupt:
        raise
    except Exception as error:
        report({"event": "error", "text": f"internal error: {type(error).__name__}: {error}", "path": None})
        raise


def run(args: argparse.Namespace) -> int:
    from scd_core.geo.pipeline import detect

    report = reporter(args.progress)

    def call() -> Any:
        options = from_arguments(args, "detect")
        return detect(args.before, args.after, args.model, args.out_dir, progress=report, **options.keywords())

    with sigterm_raises():
        try:
            run_reported(report, call)
        except Terminated:
            print("scd detect: terminated; the output folder is left as it was", file=sys.stderr)
            return EXIT_TERMINATED
    return 0
