"""``scd assess POINTS.gpkg [--ref-field ref_class] [--map-field F] [--strata-areas FILE.csv] [-o FILE] [--json]``.

Accuracies and error-adjusted areas with 95 % confidence intervals from a labelled ``scd sample``
GeoPackage (:mod:`scd_core.accounting.assessment`, Olofsson et al. 2014 eqs. 1-11).
"""

from __future__ import annotations

import argparse
import json

from scd_core import vocabulary
from scd_core.cli.arguments import add_option


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd assess`` sub-command's parser."""
    parser = commands.add_parser(
        "assess",
        help="accuracy and areas with confidence intervals from a labelled sample",
        description="Estimate accuracies and error-adjusted areas, with 95%% confidence intervals, from the "
        "points of scd sample once their ref_class is labelled (Olofsson et al. 2014).",
    )
    parser.add_argument("points", metavar="POINTS.gpkg", help="the labelled GeoPackage of scd sample")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE.json|FILE.csv",
        help="where to keep the estimates (default: the run's assessment.json)",
    )
    for option in vocabulary.ASSESS:
        add_option(parser, option)
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``scd assess``; its exit code."""
    from scd_core.accounting.assessment import assess_sample, estimates_output, text, write_estimates

    output = estimates_output(args.points, args.output, args.overwrite)
    estimates = assess_sample(args.points, args.ref_field, args.map_field, args.strata_areas, args.drop_unlabelled)
    if output is not None:
        write_estimates(estimates, output)
    print(json.dumps(estimates) if args.json else text(estimates) + (f"\n→ {output}" if output else ""))
    return 0
