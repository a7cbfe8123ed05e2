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


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated band numbers such as 1,2,3, got {text!r}") from None


def add_detection_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``scd detect`` and ``scd batch``."""
    parser.add_argument(
        "--model",
        metavar="CKPT",
        default=DEMO_MODEL,
        help="checkpoint saved by scd_core.checkpoint.save (default: the demo model of a source checkout, "
        "resources/models/demo.pt, trained on synthetic scenes only)",
    )
    parser.add_argument(
        "--bands", type=_int_list, metavar="1,2,3", help="bands of both rasters to read (default: from the checkpoint)"
    )
    parser.add_argument(
        "--tile", type=int, metavar="PX", help="tile edge in pixels, a multiple of 32 (default: the checkpoint's)"
    )
    parser.add_argument(
        "--overlap",
        type=int,
        metavar="PX",
        help="minimum overlap of neighbouring tiles (default: a quarter of the tile, which keeps seams under 0.5%% of pixels)",
    )
    parser.add_argument("--batch", type=int, metavar="N", help="tiles per forward pass (default: 8 on a GPU, 2 on CPU)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:i (default: auto)")
    parser.add_argument(
        "--threshold", type=float, metavar="TAU", help="change-probability threshold (default: the checkpoint's)"
    )
    parser.add_argument(
        "--min-area", type=float, default=0.0, metavar="M2", help="drop change polygons under this area in m²"
    )
    parser.add_argument(
        "--simplify",
        type=float,
        default=0.0,
        metavar="M",
        help="simplify polygon outlines with this tolerance in metres",
    )
    parser.add_argument(
        "--scale",
        metavar="auto|none|LOW,HIGH",
        help="how raw pixel values reach the model's range: auto (8-bit as is, other dtypes 2-98%% stretched), "
        "none (raw), or LOW,HIGH mapped linearly, e.g. 0,3000 for Sentinel-2 L1C (default: the checkpoint's, else auto)",
    )
    parser.add_argument(
        "--progress", choices=STYLES, default="bar", help="bar (default), json (worker protocol on stdout) or none"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="write into a non-empty output folder, replacing outputs"
    )


def detection_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`scd_core.detect` from parsed options."""
    from scd_core.geo.normalise import parse_scale

    return {
        "bands": args.bands,
        "tile": args.tile,
        "overlap": args.overlap,
        "batch": args.batch,
        "device": args.device,
        "threshold": args.threshold,
        "min_area": args.min_area,
        "simplify": args.simplify,
        "scale": None if args.scale is None else parse_scale(args.scale),
        "overwrite": args.overwrite,
    }


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "detect",
        help="detect semantic changes between two georeferenced rasters",
        description="Detect from-to land-cover changes between BEFORE and AFTER (any raster GDAL reads). Outputs "
        "(OUT_DIR): change_type.tif, before_class.tif, after_class.tif, change_prob.tif (COGs on BEFORE's grid), "
        "changes.gpkg (layer 'changes', areas in m²), summary.csv (from × to matrix in hectares), run.json, preview.png.",
    )
    parser.add_argument("before", help="raster of the first date; its grid is the output grid")
    parser.add_argument("after", help="raster of the second date; resampled onto BEFORE's grid when needed")
    parser.add_argument(
        "-o", "--out-dir", required=True, help="output folder (created; must be empty unless --overwrite)"
    )
    area = parser.add_mutually_exclusive_group()
    area.add_argument(
        "--aoi", metavar="FILE", help="vector file (GeoPackage, GeoJSON, Shapefile...) whose polygons limit the run"
    )
    area.add_argument(
        "--bbox", metavar="xmin,ymin,xmax,ymax[,CRS]", help="box limiting the run, in CRS (default: BEFORE's CRS)"
    )
    add_detection_options(parser)
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
    from scd_core.detection import detect

    report = reporter(args.progress)

    def call() -> Any:
        kwargs = detection_kwargs(args)
        return detect(
            args.before, args.after, args.model, args.out_dir, aoi=args.aoi, bbox=args.bbox, progress=report, **kwargs
        )

    with sigterm_raises():
        try:
            run_reported(report, call)
        except Terminated:
            print("scd detect: terminated; the output folder is left as it was", file=sys.stderr)
            return EXIT_TERMINATED
    return 0
