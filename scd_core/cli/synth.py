"""``scd synth second|geo OUT ...``: write synthetic SECOND-style data (see :mod:`scd_core.synth`).

``second`` writes a folder in SECOND's layout, to try ``scd evaluate`` or training without the
dataset; ``geo`` writes a georeferenced BEFORE/AFTER pair with its truth, to try ``scd detect`` and
the QGIS plugin on rasters whose answer is known.
"""

from __future__ import annotations

import argparse
from typing import Any

from rasterio.crs import CRS
from rasterio.errors import CRSError

from scd_core import synth


class _SizeAction(argparse.Action):
    """``--size HEIGHT [WIDTH]``: one number for a square, as :func:`scd_core.synth.make_scene` takes it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if len(values) > 2:
            parser.error(f"{option_string} takes one number (a square) or two (height width)")
        setattr(namespace, self.dest, values[0] if len(values) == 1 else tuple(values))


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _pixels(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def _crs(text: str) -> str:
    """Fail at parsing time, with argparse's exit code 2, on a CRS nobody can read."""
    try:
        CRS.from_user_input(text)
    except CRSError as error:
        raise argparse.ArgumentTypeError(f"not a CRS: {text!r} ({error})") from None
    return text


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _common(parser: argparse.ArgumentParser, default_size: int) -> None:
    parser.add_argument("out", help="output folder (created if missing)")
    parser.add_argument(
        "--size",
        type=_pixels,
        nargs="+",
        action=_SizeAction,
        default=default_size,
        metavar="PX",
        help=f"HEIGHT [WIDTH] in pixels, one number for a square (default {default_size})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed: the same seed writes the same bytes (default 0)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace the files of the same name in OUT")


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd synth`` sub-command's parser, with ``second`` and ``geo`` under it."""
    parser = commands.add_parser(
        "synth",
        help="write synthetic bitemporal scenes with known changes",
        description="Write deterministic synthetic SECOND-style scenes: all six classes, labelled changes "
        "(vegetation built over, ponds dug, trees cleared, buildings rebuilt...) and unlabelled "
        "pseudo-changes (light, season, shadows, noise, misregistration).",
    )
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    second = kinds.add_parser(
        "second",
        help="a folder in SECOND's layout: im1/ im2/ label1/ label2/ PNGs",
        description="Write N pairs as im1/, im2/ and RGB-coded label1/, label2/ PNGs.",
    )
    _common(second, 512)
    second.add_argument("--pairs", type=_count, default=10, help="number of pairs (default 10)")

    geo = kinds.add_parser(
        "geo",
        help="a georeferenced before.tif/after.tif pair with its truth",
        description="Write before.tif, after.tif and the truth on BEFORE's grid (label1.tif, label2.tif, "
        "change_type.tif) as tiled, deflate-compressed GeoTIFFs.",
    )
    _common(geo, 1024)
    geo.add_argument("--crs", type=_crs, default="EPSG:32633", help="CRS of BEFORE (default EPSG:32633)")
    geo.add_argument(
        "--resolution", type=_positive, help="pixel size in CRS units (default 0.5 m, or its equivalent in degrees)"
    )
    geo.add_argument(
        "--origin", type=float, nargs=2, metavar=("X", "Y"), help="upper-left corner in CRS units (default: Berlin)"
    )
    geo.add_argument(
        "--dtype",
        choices=("uint8", "uint16", "float32"),
        default="uint8",
        help="uint8 grey levels, uint16 reflectance ×10000 or float32 reflectance (default uint8)",
    )
    geo.add_argument(
        "--bands", type=int, choices=(1, 3, 4), default=3, help="1 panchromatic, 3 RGB, 4 RGB+NIR (default 3)"
    )
    geo.add_argument(
        "--nodata-collar",
        type=_count,
        default=0,
        metavar="PX",
        help="ragged nodata border about PX pixels wide (default none)",
    )
    geo.add_argument("--after-crs", type=_crs, help="put AFTER on this CRS")
    geo.add_argument("--after-resolution", type=_positive, help="AFTER's pixel size, in AFTER's CRS units")
    geo.add_argument(
        "--after-shift",
        type=float,
        nargs=2,
        metavar=("DX", "DY"),
        help="move AFTER's grid by DX east, DY north (CRS units)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``scd synth``; its exit code."""
    if args.kind == "second":
        written = synth.write_second(args.out, args.pairs, size=args.size, seed=args.seed, overwrite=args.overwrite)
        print(f"Wrote {len(written)} pairs to {args.out} (im1/, im2/, label1/, label2/).")
        return 0
    pair = synth.write_geo_pair(
        args.out,
        size=args.size,
        seed=args.seed,
        crs=args.crs,
        resolution=args.resolution,
        origin=tuple(args.origin) if args.origin else None,
        dtype=args.dtype,
        nodata_collar=args.nodata_collar,
        after_crs=args.after_crs,
        after_resolution=args.after_resolution,
        after_shift=tuple(args.after_shift) if args.after_shift else None,
        bands=args.bands,
        keep_scene=False,
        overwrite=args.overwrite,
    )
    for name in ("before", "after", "label1", "label2", "change_type"):
        print(getattr(pair, name))
    return 0
