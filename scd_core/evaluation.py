"""Scoring folders of SECOND-layout labels: ``ROOT/label1/*.png`` and ``ROOT/label2/*.png``.

Predictions and ground truth are paired by file name. Anything that does not pair up (a missing or
extra file, two images of different sizes) is an error naming the file: a silently skipped pair would
change the score without anyone noticing.

Labels are decoded in a thread pool (PNG decoding and numpy release the GIL) and counted in the
calling thread, so memory holds only the pairs in flight. :func:`report_data` and :func:`report_text`
give the scores as ``scd evaluate`` and ``training.evaluate`` print them.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from scd_core.errors import InconsistentChangeError, LabelMismatchError, ScdInputError
from scd_core.labels import SECOND, LabelSet, change_type_names, read_label
from scd_core.metrics import CONVENTIONS, SCORE_KEYS, SCDConfusion, categorical_sek, categorical_table_markdown
from scd_core.second_layout import listing, pair_names


@dataclass(frozen=True)
class LabelPair:
    """One image pair's four label files: prediction and ground truth of both dates."""

    name: str
    pred1: Path
    pred2: Path
    gt1: Path
    gt2: Path


def match_label_pairs(pred_root: str | Path, gt_root: str | Path) -> list[LabelPair]:
    """Pair prediction and ground-truth label files by name; every file must have its partner."""
    pred_root, gt_root = Path(pred_root), Path(gt_root)
    predicted, truth = set(pair_names(pred_root)), set(pair_names(gt_root))
    if missing := truth - predicted:
        raise LabelMismatchError(f"no prediction for {len(missing)} ground-truth labels: {listing(missing)}", pred_root)
    if extra := predicted - truth:
        raise LabelMismatchError(f"{len(extra)} predictions have no ground truth: {listing(extra)}", pred_root)
    return [
        LabelPair(
            name,
            pred_root / "label1" / name,
            pred_root / "label2" / name,
            gt_root / "label1" / name,
            gt_root / "label2" / name,
        )
        for name in sorted(truth)
    ]


def _read_pair(pair: LabelPair, labels: LabelSet) -> tuple[LabelPair, tuple[np.ndarray, ...]]:
    maps = tuple(read_label(path, labels) for path in (pair.pred1, pair.pred2, pair.gt1, pair.gt2))
    reference = maps[2].shape
    for path, array in zip((pair.pred1, pair.pred2, pair.gt1, pair.gt2), maps, strict=True):
        if array.shape != reference:
            raise LabelMismatchError(
                f"size {array.shape[1]}×{array.shape[0]} differs from {pair.gt1} ({reference[1]}×{reference[0]})", path
            )
    return pair, maps


def _read_in_order(
    pairs: list[LabelPair], workers: int, labels: LabelSet
) -> Iterator[tuple[LabelPair, tuple[np.ndarray, ...]]]:
    remaining = iter(pairs)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Bounded read-ahead: memory does not grow with the number of pairs.
        pending = deque(pool.submit(_read_pair, pair, labels) for pair in islice(remaining, 4 * workers))
        while pending:
            done = pending.popleft().result()
            pending.extend(pool.submit(_read_pair, pair, labels) for pair in islice(remaining, 1))
            yield done


def evaluate_folders(
    pred_root: str | Path,
    gt_root: str | Path,
    progress: bool = False,
    workers: int | None = None,
    labels: LabelSet = SECOND,
) -> tuple[SCDConfusion, int]:
    """Accumulate both conventions' confusion matrices over all pairs; returns them and the pair count.

    Labels are decoded in the colours and class count of ``labels``; ``progress`` draws a tqdm bar on
    stderr.
    """
    pairs = match_label_pairs(pred_root, gt_root)
    confusion = SCDConfusion(labels.num_classes)
    reader = _read_in_order(pairs, workers or min(8, os.cpu_count() or 1), labels)
    if progress:
        from tqdm import tqdm

        reader = tqdm(reader, total=len(pairs), desc="scoring", unit="pair", leave=False)
    for pair, (pred1, pred2, gt1, gt2) in reader:
        try:
            confusion.update(pred1, pred2, gt1, gt2)
        except InconsistentChangeError as error:
            raise ScdInputError(str(error), pair.pred1 if error.side == "prediction" else pair.gt1) from None
    return confusion, len(pairs)


_CONVENTION_NOTES = {
    "per_date": "over both dates' class maps, 7×7 for SECOND (Bi-SRNet, SCanNet, LSAFNet, CdSC tables)",
    "from_to": "over from-to change types, 37×37 for SECOND (ASN paper, SECOND's official scorer)",
}


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
