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

from scd_core import synth, vocabulary
from scd_core.cli.arguments import add_option
from scd_core.synth.options import SYNTH_GEO, SYNTH_SECOND


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


def _crs(text: str) -> str:
    """Fail at parsing time, with argparse's exit code 2, on a CRS nobody can read."""
    try:
        CRS.from_user_input(text)
    except CRSError as error:
        raise argparse.ArgumentTypeError(f"not a CRS: {text!r} ({error})") from None
    return text


def _add_options(parser: argparse.ArgumentParser, options: tuple[vocabulary.Option, ...]) -> None:
    """``OUT`` and ``options`` (:mod:`scd_core.synth.options`), a CRS read by PROJ, ``--size`` one or two numbers."""
    parser.add_argument("out", help="output folder (created if missing)")
    for option in options:
        if option.name == "size":
            add_option(parser, option, action=_SizeAction)
        else:
            add_option(parser, option, parse=_crs if option.name in ("crs", "after_crs") else None)


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
    _add_options(second, SYNTH_SECOND)

    geo = kinds.add_parser(
        "geo",
        help="a georeferenced before.tif/after.tif pair with its truth",
        description="Write before.tif, after.tif and the truth on BEFORE's grid (label1.tif, label2.tif, "
        "change_type.tif) as tiled, deflate-compressed GeoTIFFs.",
    )
    _add_options(geo, SYNTH_GEO)
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
