"""``scd report OUT_DIR``: rebuild a run folder's ``report.html``, with what ``scd assess`` and ``scd zones``
have added to the folder since the run (:mod:`scd_core.accounting.report`).

The page is the run's own, made of its files: rebuilding it replaces it without ``--overwrite``.
"""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd report`` sub-command's parser."""
    parser = commands.add_parser(
        "report",
        help="rebuild a run's report.html (after scd assess or scd zones)",
        description="Rebuild OUT_DIR/report.html, one self-contained page of the run: the preview, the change "
        "matrix and its flows, gains and losses, the zones' statistics and the accuracy and area estimates "
        "where they exist, and the run's provenance.",
    )
    parser.add_argument("out_dir", help="an scd detect output folder")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``scd report``; its exit code."""
    from scd_core.accounting.report import write_report

    print(write_report(args.out_dir))
    return 0
