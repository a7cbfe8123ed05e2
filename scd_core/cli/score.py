"""``scd score OUT_DIR REFERENCE [REFERENCE2] [--kind K] [--json]``: a run's outputs against reference data.

See :mod:`scd_core.geo.scoring` for the kinds of reference and how they are read. ``--json`` prints
one object: ``{"kind": ..., "pixels": scored, "outside_reference": the run's valid pixels not scored,
"binary": {precision, recall, F1, IoU, OA, kappa}, "from_to": {...} | null, "per_date": {...} | null}``,
every score in percent. A change-only run is scored as change against no change whatever the
reference (a note on stderr under ``--json`` says how a semantic reference was read), and its
summary is the changed area, not a from × to matrix.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from scd_core import vocabulary
from scd_core.cli.arguments import add_option
from scd_core.geo.scoring import score_outputs
from scd_core.metrics import CONVENTIONS, SCORE_KEYS


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd score`` sub-command's parser."""
    parser = commands.add_parser(
        "score",
        help="score a detect output folder against reference rasters",
        description="Score the outputs of scd detect against reference data on any grid (resampled by nearest "
        "neighbour onto the output grid; only pixels inside the reference's footprint where it has data count): "
        "a binary change raster (any value > 0 is change), a raster of from-to change codes, or two per-date "
        "class rasters. Scores are percentages.",
    )
    parser.add_argument("out_dir", help="an scd detect output folder")
    parser.add_argument("references", nargs="+", metavar="REFERENCE", help="one reference raster, or two per-date ones")
    for option in vocabulary.SCORE:
        add_option(parser, option)
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    return parser


def _matrix(summary: Path) -> str:
    with open(summary, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )

    return "\n".join(line(row) for row in rows)


def run(args: argparse.Namespace) -> int:
    """Run ``scd score``; its exit code."""
    score = score_outputs(args.out_dir, args.references, args.kind)
    if args.json:
        if score.note:
            print(f"scd score: {score.note}", file=sys.stderr)
        print(json.dumps(score.as_json()))
        return 0
    print(
        f"Scored {score.pixels:,} pixels of {args.out_dir} against {' and '.join(args.references)} "
        f"({score.kind} reference); {score.outside:,} of the run's valid pixels lie outside the reference "
        "or on its nodata and are not scored." + (f"\nNote: {score.note}." if score.note else "") + "\n"
    )
    print("Change against no change: " + "  ".join(f"{k} {v:.1f}" for k, v in score.binary.items()))
    if score.per_date is not None and score.from_to is not None:
        semantic = {"per_date": score.per_date, "from_to": score.from_to}
        print(f"\n{'':8}" + "".join(f"{name:>12}" for name in CONVENTIONS))
        for key in SCORE_KEYS:
            print(f"{key:8}" + "".join(f"{semantic[name][key]:12.2f}" for name in CONVENTIONS))
    what = "Changed area" if score.task == "change" else "Change matrix"
    print(f"\n{what} of the run, hectares ({Path(args.out_dir) / 'summary.csv'}):\n")
    print(_matrix(Path(args.out_dir) / "summary.csv"))
    return 0
