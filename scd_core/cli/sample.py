"""``scd sample OUT_DIR -o POINTS.gpkg [--n N] [--allocation ...] [--strata ...] [--seed S]``.

A stratified random sample of a run's change map for accuracy assessment and area estimation
(:mod:`scd_core.accounting.sample`): label the points' ``ref_class`` against reference imagery. Prints
the strata with their points and areas; ``--json`` prints them as one object.
"""

from __future__ import annotations

import argparse
import json

from scd_core import vocabulary
from scd_core.cli.arguments import add_option


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd sample`` sub-command's parser."""
    parser = commands.add_parser(
        "sample",
        help="draw a stratified random sample of a run's change map to label",
        description="Draw a stratified random sample of the change map of an scd detect output folder "
        "(Olofsson et al. 2014): a GeoPackage of points with an empty ref_class field to label, and the "
        "strata's pixels, areas and the design beside them.",
    )
    parser.add_argument("out_dir", help="an scd detect output folder")
    parser.add_argument("-o", "--output", required=True, metavar="POINTS.gpkg", help="the GeoPackage to write")
    for option in vocabulary.SAMPLE:
        add_option(parser, option)
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``scd sample``; its exit code."""
    from scd_core.accounting.sample import Design, draw_sample

    design = Design(
        allocation=args.allocation,
        size=args.n,
        target_se=args.target_se,
        users_change=args.users_change,
        users_stable=args.users_stable,
        min_per_stratum=args.min_per_stratum,
        strata=args.strata,
        seed=args.seed,
    )
    summary = draw_sample(args.out_dir, args.output, design, args.overwrite)
    if args.json:
        print(json.dumps(summary))
        return 0
    allocation, size = summary["allocation"], summary["size"]
    print(f"{summary['points']} points ({allocation} allocation of a design size of {size}) → {args.output}")
    for stratum in summary["strata"]:
        name, points, pixels, hectares = (stratum[k] for k in ("stratum", "points", "pixels", "area_ha"))
        print(f"  {name}: {points} points, {pixels} pixels, {hectares:.4f} ha")
    return 0
