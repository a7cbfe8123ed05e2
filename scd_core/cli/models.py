"""``scd models [--json]``: every model and encoder variant with its paper, parameters and MACs."""

from __future__ import annotations

import argparse
import json

from scd_core.models.summary import TILE, stored_table


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd models`` sub-command's parser."""
    parser = commands.add_parser(
        "models",
        help="list the models with their papers, parameters and MACs",
        description=f"List every model and encoder variant that training and detection accept, with its paper, "
        f"its learned parameters and the multiply-accumulates of one forward pass on a pair of 3×{TILE}×{TILE} "
        "images, counted by torch's FLOP counter on the meta device (nothing is allocated) and stored with "
        "scd, so the listing is instant.",
    )
    parser.add_argument("--json", action="store_true", help="print exactly one JSON array on stdout")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``scd models``; its exit code."""
    rows = stored_table()
    if args.json:
        print(json.dumps(rows))
        return 0
    print(markdown_table(rows))
    print(f"\nMACs: one forward pass on a pair of 3×{TILE}×{TILE} images.")
    return 0


def markdown_table(rows: list[dict]) -> str:
    """The rows as the Markdown table the README shows (readable in a terminal too)."""
    lines = ["| model | encoder | params (M) | MACs (G) | paper |", "|---|---|---:|---:|---|"]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['encoder'] or '-'} | {row['params'] / 1e6:.2f} | {row['macs'] / 1e9:.1f} "
            f"| {row['paper']} |"
        )
    return "\n".join(lines)
