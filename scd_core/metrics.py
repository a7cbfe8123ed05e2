"""SECOND's scores: confusion matrices in both conventions of the literature, and what is computed from them.

The literature scores SECOND in two incompatible ways, and both are called "SeK":

``per_date``
    One 7×7 matrix over both dates' class maps (0 = no change, 1..6 = classes): the prediction and
    ground truth of date 1 and of date 2 are accumulated into the same matrix, so each changed pixel
    counts twice. This is the convention of the Bi-SRNet, SCanNet, LSAFNet and CdSC tables.
``from_to``
    One 37×37 matrix over from-to change-type codes (:func:`scd_core.labels.change_code`). This is
    the convention of the ASN paper (§V) and SECOND's official scorer.

Both matrices are ``q[pred, gt]`` (rows: prediction, columns: ground truth), as in the ASN paper's
eq. 13, and class 0 is "no change". The same formulas apply to each:

* OA (eq. 13) and Cohen's kappa (eq. 14);
* IoU_nc = IoU_1 (eq. 15) and IoU_c = IoU_2 (eq. 16) of the binary no-change/change split, and their
  mean mIoU (eq. 17);
* SeK = exp(IoU_c - 1) · κ̂ (eq. 18), κ̂ being kappa of the matrix with q_00 removed;
* Fscd: harmonic mean of precision and recall of correctly typed changed pixels
  (Σ_{i≥1} q_ii over predicted-changed pixels, and over ground-truth-changed pixels);
* Score = 0.3 · mIoU + 0.7 · SeK.

All scores are percentages. Degenerate matrices give defined values, never NaN or an exception:

* an empty union (e.g. no changed pixel in the prediction *nor* in the ground truth) is perfect
  agreement on the absence: that IoU, SeK (and Fscd) are 100;
* no changed pixel in only one of them gives IoU_c = SeK = Fscd = 0;
* a kappa whose chance agreement is 1 (all pixels in one cell of the diagonal) is 1;
* a matrix with no pixels at all (everything ignored) scores 0 everywhere.

Kappa, hence SeK, can be negative for predictions worse than chance; it is not clipped.

Matrices accumulate incrementally from numpy arrays or torch tensors; torch inputs are counted on
their own device (GPU included) without a host round trip per update. torch is never imported here:
the evaluator of label folders stays light.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scd_core.errors import InconsistentChangeError
from scd_core.labels import (
    CLASSES,
    IGNORE,
    NO_CHANGE,
    NUM_CHANGE_TYPES,
    NUM_CLASSES,
    change_code,
    class_name,
)
from scd_core.tensors import is_torch_tensor

__all__ = [
    "CONVENTIONS",
    "SCORE_KEYS",
    "SCDConfusion",
    "categorical_sek",
    "categorical_table_markdown",
    "scores",
]

CONVENTIONS = ("per_date", "from_to")
SCORE_KEYS = ("OA", "kappa", "mIoU", "SeK", "Fscd", "IoU_nc", "IoU_c", "Score")


def _kappa(q: np.ndarray) -> float:
    """Cohen's kappa of ``q`` (eq. 14), as a fraction; defined for every non-empty matrix."""
    total = q.sum()
    observed = np.trace(q) / total
    chance = float((q.sum(1) * q.sum(0)).sum()) / float(total) ** 2
    if math.isclose(chance, 1.0):
        # All pixels in one diagonal cell: perfect agreement that chance alone would also give.
        return 1.0
    return (observed - chance) / (1.0 - chance)


def _ratio(numerator: float, denominator: float, empty: float) -> float:
    return numerator / denominator if denominator else empty


def scores(q: np.ndarray) -> dict[str, float]:
    """All SECOND scores of a confusion matrix ``q[pred, gt]`` whose class 0 is "no change", in percent.

    See the module docstring for the formulas and the values of degenerate cases.
    """
    q = np.asarray(q, dtype=np.float64)
    total = q.sum()
    if total == 0:
        return dict.fromkeys(SCORE_KEYS, 0.0)
    q00 = q[0, 0]
    changed_either = total - q00  # pixels changed in the prediction or in the ground truth

    iou_nc = _ratio(q00, q[0, :].sum() + q[:, 0].sum() - q00, empty=1.0)  # eq. 15
    iou_c = _ratio(q[1:, 1:].sum(), changed_either, empty=1.0)  # eq. 16
    miou = (iou_nc + iou_c) / 2  # eq. 17

    if changed_either:
        separated = q.copy()
        separated[0, 0] = 0  # κ̂: kappa without the dominant no-change agreement
        sek = math.exp(iou_c - 1.0) * _kappa(separated)  # eq. 18
    else:
        sek = 1.0

    correct_changes = np.trace(q) - q00
    precision = _ratio(correct_changes, q[1:, :].sum(), empty=1.0 if changed_either == 0 else 0.0)
    recall = _ratio(correct_changes, q[:, 1:].sum(), empty=1.0 if changed_either == 0 else 0.0)
    fscd = _ratio(2 * precision * recall, precision + recall, empty=0.0)

    result = {
        "OA": np.trace(q) / total,  # eq. 13
        "kappa": _kappa(q),  # eq. 14
        "mIoU": miou,
        "SeK": sek,
        "Fscd": fscd,
        "IoU_nc": iou_nc,
        "IoU_c": iou_c,
    }
    result = {key: 100.0 * float(value) for key, value in result.items()}
    result["Score"] = 0.3 * result["mIoU"] + 0.7 * result["SeK"]
    return result


_N = len(CLASSES)
# For each (first date, second date) class pair: its from-to code, or -1 where it has none.
_PAIR_CODE = np.array(
    [
        [change_code(np.array(a), np.array(b)) if (a == NO_CHANGE) == (b == NO_CHANGE) else -1 for b in range(_N)]
        for a in range(_N)
    ]
)


class SCDConfusion:
    """Both conventions' confusion matrices ``q[pred, gt]``, filled pair by pair.

    One joint histogram over (pred1, pred2, gt1, gt2), 7⁴ cells, is accumulated with a single
    ``bincount`` per update; both conventions are marginals of it. torch inputs are counted on their
    device (GPU included) and stay there until the matrices are read.
    """

    def __init__(self) -> None:
        self._joint: Any = np.zeros(_N**4, dtype=np.int64)

    def update(self, pred1: Any, pred2: Any, gt1: Any, gt2: Any) -> None:
        """Add one (batch of) pair(s) of per-date class maps (0 no change, 1..6, ground truth 255 = ignore).

        Pixels whose ground truth is ignored on either date are not counted. A value outside 0..6
        raises ``ValueError``; a pixel that is "no change" on one date and a class on the other (it
        has no from-to type) raises :class:`InconsistentChangeError`.
        """
        maps = (pred1, pred2, gt1, gt2)
        if len({tuple(m.shape) for m in maps}) != 1:
            raise ValueError(f"shape mismatch: {', '.join(str(tuple(m.shape)) for m in maps)}")
        counts: Any = _joint_counts_torch(maps) if any(is_torch_tensor(m) for m in maps) else _joint_counts_numpy(maps)
        _check_consistent(counts)
        if is_torch_tensor(counts):
            if not is_torch_tensor(self._joint):
                self._joint = counts.new_tensor(self._joint)
            self._joint = self._joint.to(counts.device) + counts
        else:
            self._joint = self._joint + counts

    def _joint_array(self) -> np.ndarray:
        joint = self._joint.cpu().numpy() if is_torch_tensor(self._joint) else self._joint
        return joint.reshape(_N, _N, _N, _N).astype(np.int64)

    @property
    def per_date(self) -> np.ndarray:
        """7×7 ``q[pred, gt]`` over both dates' class maps: each changed pixel counts twice."""
        joint = self._joint_array()
        return joint.sum(axis=(1, 3)) + joint.sum(axis=(0, 2))

    @property
    def from_to(self) -> np.ndarray:
        """37×37 ``q[pred, gt]`` over from-to change-type codes."""
        joint = self._joint_array()
        pred_code = np.broadcast_to(_PAIR_CODE[:, :, None, None], joint.shape).ravel()
        gt_code = np.broadcast_to(_PAIR_CODE[None, None, :, :], joint.shape).ravel()
        matrix = np.zeros((NUM_CHANGE_TYPES, NUM_CHANGE_TYPES), dtype=np.int64)
        counted = joint.ravel() > 0  # cells without a code are empty: update() refuses them
        np.add.at(matrix, (pred_code[counted], gt_code[counted]), joint.ravel()[counted])
        return matrix

    def scores(self) -> dict[str, dict[str, float]]:
        """``{"per_date": {...}, "from_to": {...}}`` with the keys of :data:`SCORE_KEYS`."""
        return {"per_date": scores(self.per_date), "from_to": scores(self.from_to)}


def _check_range(name: str, low: Any, high: Any) -> None:
    if int(low) < 0 or int(high) > NUM_CLASSES:
        raise ValueError(f"{name} holds values outside 0..{NUM_CLASSES}")


def _joint_counts_numpy(maps: tuple[Any, ...]) -> np.ndarray:
    pred1, pred2, gt1, gt2 = (np.asarray(m) for m in maps)
    ignored = (gt1 == IGNORE) | (gt2 == IGNORE)
    if ignored.any():
        keep = ~ignored
        pred1, pred2, gt1, gt2 = pred1[keep], pred2[keep], gt1[keep], gt2[keep]
    for name, values in (("prediction", (pred1, pred2)), ("ground truth", (gt1, gt2))):
        for array in values:
            if array.size:
                _check_range(name, array.min(), array.max())
    cells = ((pred1.astype(np.int16) * _N + pred2) * _N + gt1) * _N + gt2
    return np.bincount(cells.ravel(), minlength=_N**4)


def _joint_counts_torch(maps: tuple[Any, ...]) -> Any:
    import torch

    device = next(m.device for m in maps if is_torch_tensor(m))
    pred1, pred2, gt1, gt2 = (torch.as_tensor(m, device=device).long().reshape(-1) for m in maps)
    keep = (gt1 != IGNORE) & (gt2 != IGNORE)
    pred1, pred2, gt1, gt2 = pred1[keep], pred2[keep], gt1[keep], gt2[keep]
    for name, values in (("prediction", (pred1, pred2)), ("ground truth", (gt1, gt2))):
        for tensor in values:
            if tensor.numel():
                _check_range(name, tensor.min(), tensor.max())
    cells = ((pred1 * _N + pred2) * _N + gt1) * _N + gt2
    return torch.bincount(cells, minlength=_N**4)


def _check_consistent(counts: Any) -> None:
    """Raise for counted pixels whose date pair has no from-to code (2,401 counts read from the device)."""
    joint = (counts.cpu().numpy() if is_torch_tensor(counts) else counts).reshape(_N, _N, _N, _N)
    for side, pair_counts in (("prediction", joint.sum(axis=(2, 3))), ("ground truth", joint.sum(axis=(0, 1)))):
        inconsistent = int(pair_counts[_PAIR_CODE < 0].sum())
        if inconsistent:
            raise InconsistentChangeError(side, inconsistent)


def categorical_sek(q_from_to: np.ndarray) -> dict[int, dict[str, float]]:
    """Per change type (codes 1..36): SeK of its 2×2 matrix "this type vs everything else" (Table II).

    The 2×2 matrix puts "not this type" where "no change" was, so the categorical SeK measures the
    identification of that one change type, as the ASN paper's Table II does. Each entry also gives
    the type's ground-truth and predicted pixel counts, so absent types can be told apart.
    """
    q = np.asarray(q_from_to, dtype=np.int64)
    total = q.sum()
    table = {}
    for code in range(1, NUM_CHANGE_TYPES):
        hit = q[code, code]
        predicted, actual = q[code, :].sum(), q[:, code].sum()
        binary = np.array([[total - predicted - actual + hit, actual - hit], [predicted - hit, hit]])
        table[code] = {"SeK": scores(binary)["SeK"], "gt_pixels": int(actual), "pred_pixels": int(predicted)}
    return table


def categorical_table_markdown(q_from_to: np.ndarray) -> str:
    """The ASN paper's Table II for one model: categorical SeK per from (row) → to (column) type.

    A dash marks a type present in neither the prediction nor the ground truth. The last line gives
    IoU_1 (no change) and IoU_2 (change) of the binary split, in percent.
    """
    table = categorical_sek(q_from_to)
    names = [class_name(index) for index in range(1, NUM_CLASSES + 1)]
    lines = ["| from \\ to | " + " | ".join(names) + " |", "|---" * (NUM_CLASSES + 1) + "|"]
    for before in range(1, NUM_CLASSES + 1):
        cells = []
        for after in range(1, NUM_CLASSES + 1):
            entry = table[1 + NUM_CLASSES * (before - 1) + (after - 1)]
            present = entry["gt_pixels"] or entry["pred_pixels"]
            cells.append(f"{entry['SeK']:.1f}" if present else "–")
        lines.append(f"| {class_name(before)} | " + " | ".join(cells) + " |")
    binary = scores(q_from_to)
    lines.append("")
    lines.append(f"IoU_1 (no change): {binary['IoU_nc']:.1f} · IoU_2 (change): {binary['IoU_c']:.1f}")
    return "\n".join(lines)
