"""``scd models [--json]``: every model and encoder variant with its paper, parameters and MACs."""
from __future__ import annotations

import argparse
import json

from scd_core.models.summary import TILE, model_table


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "models",
        help="list the models with their papers, parameters and MACs",
        description=f"List every model and encoder variant that training and detection accept, with its paper, "
        f"its learned parameters and the multiply-accumulates of one forward pass on a pair of 3×{TILE}×{TILE} "
        "images, counted by torch's FLOP counter on the meta device (nothing is allocated).",
    )
    parser.add_argument("--json", action="store_true", help="print exactly one JSON array on stdout")
    return parser


def run(args: argparse.Namespace) -> int:
    rows = model_table()
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'model':14}{'encoder':10}{'params (M)':>12}{'MACs (G)':>11}  paper")
    for row in rows:
        encoder = row["encoder"] or "-"
        print(f"{row['name']:14}{encoder:10}{row['params'] / 1e6:12.2f}{row['macs'] / 1e9:11.1f}  {row['paper']}")
    print(f"\nMACs: one forward pass on a pair of 3×{TILE}×{TILE} images.")
    return 0
