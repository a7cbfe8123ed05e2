"""``scd zones OUT_DIR ZONES --field NAME [-o zones.csv] [--overwrite]``: a run's change by zone.

The from × to hectares of every zone in long format, and the zone layer with its changed area beside
it (:mod:`scd_core.accounting.zones`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scd_core import vocabulary
from scd_core.cli.arguments import add_option
from scd_core.errors import InvalidOptionError


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd zones`` sub-command's parser."""
    parser = commands.add_parser(
        "zones",
        help="change statistics by zone (from × to hectares of each)",
        description="The from × to hectares of a run's change map in each zone of a vector layer (any CRS), "
        "in long format, and the zones with their changed area in a GeoPackage beside it.",
    )
    parser.add_argument("out_dir", help="an scd detect output folder")
    parser.add_argument("zones", metavar="ZONES", help="a vector layer of zone polygons")
    parser.add_argument("-o", "--output", metavar="zones.csv", help="the CSV to write (default: OUT_DIR/zones.csv)")
    for option in vocabulary.ZONES:
        add_option(parser, option)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``scd zones``; its exit code."""
    from scd_core.accounting.zones import zone_statistics

    if not args.field:
        raise InvalidOptionError("--field: name the zones' field that names them")
    output = args.output or Path(args.out_dir) / "zones.csv"
    totals = zone_statistics(args.out_dir, args.zones, args.field, output, args.overwrite)
    print(f"{totals['zones']} zones, {totals['changed_ha']:.4f} ha changed in all → {totals['csv']}, {totals['gpkg']}")
    return 0
