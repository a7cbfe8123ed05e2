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

from scd_core.labels import (
    CLASSES,
    IGNORE,
    NUM_CHANGE_TYPES,
    NUM_CLASSES,
    change_code,
    class_name,
)
from scd_core.tensors import is_torch_tensor

__all__ = [
    "CONVENTIONS",
    "SCORE_KEYS",
    "ConfusionMatrix",
    "SCDConfusion",
    "InconsistentChangeError",
    "scores",
    "categorical_sek",
    "categorical_table_markdown",
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
        return {key: 0.0 for key in SCORE_KEYS}
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


class ConfusionMatrix:
    """``q[pred, gt]`` over ``num_classes`` classes, accumulated from numpy arrays or torch tensors."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self._counts: Any = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, pred: Any, gt: Any) -> None:
        """Count pixel pairs; ``pred`` and ``gt`` hold class indices below ``num_classes``, any shape."""
        n = self.num_classes
        if is_torch_tensor(pred) or is_torch_tensor(gt):
            import torch

            cells = pred.reshape(-1).long() * n + gt.reshape(-1).long()
            counts = torch.bincount(cells, minlength=n * n).reshape(n, n)
            if not is_torch_tensor(self._counts):
                self._counts = torch.as_tensor(self._counts, device=counts.device)
            self._counts = self._counts.to(counts.device) + counts
        else:
            cells = np.asarray(pred).reshape(-1).astype(np.int64) * n + np.asarray(gt).reshape(-1)
            self._counts = self._counts + np.bincount(cells, minlength=n * n).reshape(n, n)

    @property
    def counts(self) -> np.ndarray:
        """The matrix as int64 numpy (copied from the device for torch-accumulated matrices)."""
        if is_torch_tensor(self._counts):
            return self._counts.cpu().numpy().astype(np.int64)
        return self._counts.copy()

    def scores(self) -> dict[str, float]:
        """:func:`scores` of the matrix accumulated so far."""
        return scores(self.counts)


class InconsistentChangeError(ValueError):
    """A pixel is "no change" on one date and a class on the other, so it has no from-to type."""

    def __init__(self, side: str, message: str) -> None:
        self.side = side  # "prediction" or "ground truth"
        super().__init__(f"{side}: {message}")


def _change_codes(before: Any, after: Any, side: str) -> Any:
    try:
        return change_code(before, after)
    except ValueError as error:
        raise InconsistentChangeError(side, str(error)) from None


def _as_pairs(arrays: tuple[Any, ...]) -> tuple[Any, ...]:
    if any(is_torch_tensor(a) for a in arrays):
        import torch

        device = next(a.device for a in arrays if is_torch_tensor(a))
        return tuple(torch.as_tensor(a, device=device).long() for a in arrays)
    return tuple(np.asarray(a).astype(np.int64) for a in arrays)


class SCDConfusion:
    """Both conventions' matrices of a semantic change detection evaluation, filled pair by pair."""

    def __init__(self) -> None:
        self.per_date = ConfusionMatrix(len(CLASSES))
        self.from_to = ConfusionMatrix(NUM_CHANGE_TYPES)

    def update(self, pred1: Any, pred2: Any, gt1: Any, gt2: Any) -> None:
        """Add one (batch of) pair(s) of per-date class maps (0 no change, 1..6, ground truth 255 = ignore).

        Pixels whose ground truth is ignored on either date are not counted. A value outside
        0..6 raises ``ValueError``; a pixel that is "no change" on one date and a class on the other
        (it has no from-to type) raises :class:`InconsistentChangeError`.
        """
        pred1, pred2, gt1, gt2 = _as_pairs((pred1, pred2, gt1, gt2))
        if pred1.shape != gt1.shape or pred2.shape != gt2.shape or pred1.shape != pred2.shape:
            raise ValueError(f"shape mismatch: predictions {tuple(pred1.shape)}, ground truth {tuple(gt1.shape)}")
        valid = (gt1 != IGNORE) & (gt2 != IGNORE)
        pred1, pred2, gt1, gt2 = pred1[valid], pred2[valid], gt1[valid], gt2[valid]
        for name, values in (("prediction", pred1), ("prediction", pred2), ("ground truth", gt1), ("ground truth", gt2)):
            if bool((values < 0).any()) or bool((values > NUM_CLASSES).any()):
                raise ValueError(f"{name} holds values outside 0..{NUM_CLASSES}")
        self.per_date.update(pred1, gt1)
        self.per_date.update(pred2, gt2)
        self.from_to.update(_change_codes(pred1, pred2, "prediction"), _change_codes(gt1, gt2, "ground truth"))

    def scores(self) -> dict[str, dict[str, float]]:
        """``{"per_date": {...}, "from_to": {...}}`` with the keys of :data:`SCORE_KEYS`."""
        return {"per_date": self.per_date.scores(), "from_to": self.from_to.scores()}


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
