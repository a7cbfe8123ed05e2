"""``scd evaluate PRED_ROOT GT_ROOT [--json]``: score SECOND-layout label folders in both conventions."""

from __future__ import annotations

import argparse
import json
from typing import Any

from scd_core.evaluation import evaluate_folders
from scd_core.labels import LABEL_SETS, LabelSet, change_type_names
from scd_core.metrics import CONVENTIONS, SCORE_KEYS, SCDConfusion, categorical_sek, categorical_table_markdown

_CONVENTION_NOTES = {
    "per_date": "over both dates' class maps, 7×7 for SECOND (Bi-SRNet, SCanNet, LSAFNet, CdSC tables)",
    "from_to": "over from-to change types, 37×37 for SECOND (ASN paper, SECOND's official scorer)",
}


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "evaluate",
        help="score predicted SECOND labels against ground truth",
        description="Score predicted per-date labels against ground truth. Both roots use SECOND's layout: "
        "label1/ and label2/ hold PNGs matched by file name (RGB SECOND colours or one-band class indices; "
        "255 in the ground truth is ignored). Prints OA, kappa, mIoU, SeK, Fscd and Score in both conventions "
        "of the literature, and the categorical SeK per change type (ASN paper, Table II).",
    )
    parser.add_argument(
        "--labels",
        choices=sorted(LABEL_SETS),
        default="second",
        help="label set whose colours and classes the PNGs use (default: second)",
    )
    parser.add_argument("pred_root", help="folder with the predictions' label1/ and label2/")
    parser.add_argument("gt_root", help="folder with the ground truth's label1/ and label2/")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    return parser


def run(args: argparse.Namespace) -> int:
    labels = LABEL_SETS[args.labels]
    confusion, pairs = evaluate_folders(args.pred_root, args.gt_root, progress=True, labels=labels)
    if args.json:
        print(json.dumps({"pairs": pairs, **report_data(confusion, labels)}))
    else:
        print(f"Scored {pairs} pairs.\n")
        print(report_text(confusion, labels))
    return 0


def report_data(confusion: SCDConfusion, labels: LabelSet) -> dict[str, Any]:
    """Both conventions' scores and the categorical SeK by change-type name, as ``--json`` prints them."""
    names = change_type_names(labels.classes)
    categorical = {names[code]: entry for code, entry in categorical_sek(confusion.from_to).items()}
    return {**confusion.scores(), "categorical": categorical}


def report_text(confusion: SCDConfusion, labels: LabelSet) -> str:
    """The readable report: both conventions side by side, what each is, and Table II's matrix."""
    results = confusion.scores()
    lines = [f"{'':8}" + "".join(f"{name:>12}" for name in CONVENTIONS)]
    lines += [f"{key:8}" + "".join(f"{results[name][key]:12.2f}" for name in CONVENTIONS) for key in SCORE_KEYS]
    lines += ["", *(f"{name}: {_CONVENTION_NOTES[name]}" for name in CONVENTIONS)]
    lines += ["", "Categorical SeK per change type (from_to; rows: first date, columns: second date):", ""]
    lines.append(categorical_table_markdown(confusion.from_to, labels))
    return "\n".join(lines)
