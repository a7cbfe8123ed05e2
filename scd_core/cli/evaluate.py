"""``scd evaluate PRED_ROOT GT_ROOT [--json]``: score SECOND-layout label folders in both conventions."""

from __future__ import annotations

import argparse
import json

from scd_core import vocabulary
from scd_core.cli.arguments import add_option
from scd_core.evaluation import evaluate_folders, report_data, report_text
from scd_core.labels import LABEL_SETS


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd evaluate`` sub-command's parser."""
    parser = commands.add_parser(
        "evaluate",
        help="score predicted SECOND labels against ground truth",
        description="Score predicted per-date labels against ground truth. Both roots use SECOND's layout: "
        "label1/ and label2/ hold PNGs matched by file name (RGB SECOND colours or one-band class indices; "
        "255 in the ground truth is ignored). Prints OA, kappa, mIoU, SeK, Fscd and Score in both conventions "
        "of the literature, and the categorical SeK per change type (ASN paper, Table II).",
    )
    add_option(parser, vocabulary.OPTIONS["labels"])
    parser.add_argument("pred_root", help="folder with the predictions' label1/ and label2/")
    parser.add_argument("gt_root", help="folder with the ground truth's label1/ and label2/")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``scd evaluate``; its exit code."""
    labels = LABEL_SETS[args.labels]
    confusion, pairs = evaluate_folders(args.pred_root, args.gt_root, progress=True, labels=labels)
    if args.json:
        print(json.dumps({"pairs": pairs, **report_data(confusion, labels)}))
    else:
        print(f"Scored {pairs} pairs.\n")
        print(report_text(confusion, labels))
    return 0
