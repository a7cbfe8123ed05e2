"""SECOND's scores: confusion matrices in both conventions of the literature, and what is computed from them.

The literature scores SECOND in two incompatible ways, and both are called "SeK":

``per_date``
    One (N+1)×(N+1) matrix over both dates' class maps (0 = no change, 1..N = classes): the
    prediction and ground truth of date 1 and of date 2 are accumulated into the same matrix, so each
    changed pixel counts twice. This is the convention of the Bi-SRNet, SCanNet, LSAFNet and CdSC
    tables. Each date is scored on its own, as Bi-SRNet's scorer does: a ground truth of 255 on one
    date drops that date's pixel only.
``from_to``
    One (1+N²)×(1+N²) matrix over from-to change-type codes (:func:`scd_core.labels.change_code`),
    37×37 for SECOND's N = 6. This is the convention of the ASN paper (§V) and SECOND's official
    scorer. A pixel ignored (255) on either date has no from-to type and is not counted.

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

* a kappa whose chance agreement is 1 (every pixel in one cell of the diagonal) is 0, as in SECOND's
  official scorer (``cal_kappa``: ``pe == 1`` gives 0) and Bi-SRNet's; so an image changed everywhere
  into one type, predicted perfectly, has SeK 0;
* an empty union (no changed pixel in the prediction *nor* in the ground truth) is perfect agreement
  on the absence: that IoU, SeK (and Fscd) are 100 (the official scorer gives NaN there);
* no changed pixel in only one of them gives IoU_c = SeK = Fscd = 0;
* a matrix with no pixels at all (everything ignored) scores 0 everywhere.

Kappa, hence SeK, can be negative for predictions worse than chance; it is not clipped.

Categorical SeK (Table II) is :func:`categorical_sek`; its docstring gives the reading of the paper
it follows and why.

Matrices accumulate incrementally from numpy arrays or torch tensors; torch inputs are counted on
their own device (GPU included) without a host round trip per update. torch is never imported here:
the evaluator of label folders stays light.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

import numpy as np

from scd_core.errors import InconsistentChangeError
from scd_core.labels import IGNORE, NO_CHANGE, NUM_CLASSES, SECOND, LabelSet, class_name
from scd_core.tensors import is_torch_tensor

#: A class map or a histogram: a numpy array, or a torch tensor on any device. The metrics take either,
#: and count on the tensor's own device, so they handle both by duck typing (the ``is_torch_tensor``
#: branches) rather than by a union every operation would have to narrow.
NumpyOrTorch: TypeAlias = Any

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
    """Cohen's kappa of ``q`` (eq. 14), as a fraction; 0 where it is undefined (no pixel, or chance
    agreement 1), as SECOND's official scorer has it."""
    total = q.sum()
    if total == 0:
        return 0.0
    observed = np.trace(q) / total
    chance = float((q.sum(1) * q.sum(0)).sum()) / float(total) ** 2
    if math.isclose(chance, 1.0):
        return 0.0
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


def _pair_codes(num_classes: int) -> np.ndarray:
    """For each (first date, second date) class pair: its from-to code, or -1 where it has none."""
    values = np.arange(num_classes + 1)
    before, after = np.meshgrid(values, values, indexing="ij")
    codes = np.where(before == NO_CHANGE, 0, 1 + num_classes * (before - 1) + (after - 1))
    return np.where((before == NO_CHANGE) == (after == NO_CHANGE), codes, -1)


class SCDConfusion:
    """Both conventions' confusion matrices ``q[pred, gt]``, filled pair by pair.

    One joint histogram over (pred1, pred2, gt1, gt2) is accumulated with a single ``bincount`` per
    update; both conventions are marginals of it. Predictions take N+1 values, ground truths N+2: the
    last stands for "ignored" (255), so that ``per_date`` keeps a date whose other date is ignored.
    torch inputs are counted on their device (GPU included) and stay there until the matrices are
    read; :attr:`counts` is that histogram, which distributed evaluation sums across processes.

    Args:
        num_classes: land-cover classes N (SECOND's 6 by default; Landsat-SCD has 4).
    """

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        self.num_classes = num_classes
        self._values = num_classes + 1
        self._shape = (self._values, self._values, self._values + 1, self._values + 1)
        self._pair_code = _pair_codes(num_classes)
        self.counts: NumpyOrTorch = np.zeros(int(np.prod(self._shape)), dtype=np.int64)

    def update(self, pred1: NumpyOrTorch, pred2: NumpyOrTorch, gt1: NumpyOrTorch, gt2: NumpyOrTorch) -> None:
        """Add one (batch of) pair(s) of per-date class maps (0 no change, 1..N, ground truth 255 = ignore).

        A pixel is dropped from ``from_to`` when its ground truth is ignored on either date, and from
        ``per_date`` on each date where it is ignored. A value outside 0..N raises ``ValueError``; a
        pixel that is "no change" on one date and a class on the other (it has no from-to type)
        raises :class:`InconsistentChangeError`.
        """
        maps = (pred1, pred2, gt1, gt2)
        if len({tuple(m.shape) for m in maps}) != 1:
            raise ValueError(f"shape mismatch: {', '.join(str(tuple(m.shape)) for m in maps)}")
        on_device = any(is_torch_tensor(m) for m in maps)
        counts: NumpyOrTorch = self._counts_torch(maps) if on_device else self._counts_numpy(maps)
        self._check_consistent(counts)
        if is_torch_tensor(counts):
            if not is_torch_tensor(self.counts):
                self.counts = counts.new_tensor(self.counts)
            self.counts = self.counts.to(counts.device) + counts
        else:
            self.counts = self.counts + counts

    def _cells(self, pred1: NumpyOrTorch, pred2: NumpyOrTorch, gt1: NumpyOrTorch, gt2: NumpyOrTorch) -> NumpyOrTorch:
        """Flat joint-histogram index of every pixel (ground truths already hold N+1 for "ignored")."""
        n = self._values
        if not is_torch_tensor(pred1):  # the narrowest integers that hold every index: memory-bound arithmetic
            pred1 = pred1.astype(np.int16 if self.counts.size < 1 << 15 else np.int32)
        return ((pred1 * n + pred2) * (n + 1) + gt1) * (n + 1) + gt2

    def _check_range(self, name: str, low: NumpyOrTorch, high: NumpyOrTorch) -> None:
        if int(low) < 0 or int(high) > self.num_classes:
            raise ValueError(f"{name} holds values outside 0..{self.num_classes}")

    def _checked_numpy(self, array: NumpyOrTorch, name: str) -> tuple[np.ndarray, bool]:
        """``array`` flattened after the range check, and whether it holds ignored (255) pixels."""
        array = np.asarray(array).ravel()
        if not array.size:
            return array, False
        low, high = array.min(), array.max()
        if name == "prediction" or high <= self.num_classes:
            self._check_range(name, low, high)
            return array, False
        valid = array[array != IGNORE]
        if valid.size:
            self._check_range(name, valid.min(), valid.max())
        return array, True

    def _counts_numpy(self, maps: tuple[NumpyOrTorch, ...]) -> np.ndarray:
        (pred1, _), (pred2, _) = (self._checked_numpy(m, "prediction") for m in maps[:2])
        (gt1, ignored1), (gt2, ignored2) = (self._checked_numpy(m, "ground truth") for m in maps[2:])
        if ignored1 or ignored2:
            keep = (gt1 != IGNORE) | (gt2 != IGNORE)
            pred1, pred2, gt1, gt2 = pred1[keep], pred2[keep], gt1[keep], gt2[keep]
            gt1 = np.where(gt1 == IGNORE, self._values, gt1)
            gt2 = np.where(gt2 == IGNORE, self._values, gt2)
        return np.bincount(self._cells(pred1, pred2, gt1, gt2), minlength=self.counts.size)

    def _counts_torch(self, maps: tuple[NumpyOrTorch, ...]) -> NumpyOrTorch:
        import torch

        device = next(m.device for m in maps if is_torch_tensor(m))
        pred1, pred2, gt1, gt2 = (torch.as_tensor(m, device=device).long().reshape(-1) for m in maps)
        keep = (gt1 != IGNORE) | (gt2 != IGNORE)
        pred1, pred2, gt1, gt2 = pred1[keep], pred2[keep], gt1[keep], gt2[keep]
        for name, values in (("prediction", (pred1, pred2)), ("ground truth", (gt1, gt2))):
            for tensor in values:
                valid = tensor[tensor != IGNORE] if name == "ground truth" else tensor
                if valid.numel():
                    self._check_range(name, valid.min(), valid.max())
        gt1, gt2 = (torch.where(gt == IGNORE, self._values, gt) for gt in (gt1, gt2))
        return torch.bincount(self._cells(pred1, pred2, gt1, gt2), minlength=int(np.prod(self._shape)))

    def _check_consistent(self, counts: NumpyOrTorch) -> None:
        """Raise for counted pixels whose date pair has no from-to code (a few thousand counts read back)."""
        joint = (counts.cpu().numpy() if is_torch_tensor(counts) else counts).reshape(self._shape)
        n = self._values
        sides = (("prediction", joint.sum(axis=(2, 3))), ("ground truth", joint[:, :, :n, :n].sum(axis=(0, 1))))
        for side, pair_counts in sides:
            inconsistent = int(pair_counts[self._pair_code < 0].sum())
            if inconsistent:
                raise InconsistentChangeError(side, inconsistent)

    def _joint(self) -> np.ndarray:
        counts = self.counts.cpu().numpy() if is_torch_tensor(self.counts) else self.counts
        return np.asarray(counts, dtype=np.int64).reshape(self._shape)

    @property
    def per_date(self) -> np.ndarray:
        """(N+1)×(N+1) ``q[pred, gt]`` over both dates' class maps: each changed pixel counts twice."""
        joint, n = self._joint(), self._values
        return joint.sum(axis=(1, 3))[:, :n] + joint.sum(axis=(0, 2))[:, :n]

    @property
    def from_to(self) -> np.ndarray:
        """(1+N²)×(1+N²) ``q[pred, gt]`` over from-to change-type codes (pixels scored on both dates)."""
        n = self._values
        joint = self._joint()[:, :, :n, :n]
        pred_code = np.broadcast_to(self._pair_code[:, :, None, None], joint.shape).ravel()
        gt_code = np.broadcast_to(self._pair_code[None, None, :, :], joint.shape).ravel()
        types = 1 + self.num_classes**2
        matrix = np.zeros((types, types), dtype=np.int64)
        counted = joint.ravel() > 0  # cells without a code are empty: update() refuses them
        np.add.at(matrix, (pred_code[counted], gt_code[counted]), joint.ravel()[counted])
        return matrix

    def scores(self) -> dict[str, dict[str, float]]:
        """``{"per_date": {...}, "from_to": {...}}`` with the keys of :data:`SCORE_KEYS`."""
        return {"per_date": scores(self.per_date), "from_to": scores(self.from_to)}


def categorical_sek(q_from_to: np.ndarray) -> dict[int, dict[str, Any]]:
    """Per change type (codes 1..N²): the categorical SeK of the ASN paper's Table II, in percent.

    Reading of §VI-C ("calculated from 2×2 confusion matrix concentrating on each change type"):
    SeK's own separation is applied first (q_00, the no-change agreement, is removed from the full
    from-to matrix, as eq. 18 does), then type k gets the 2×2 matrix "k against every other remaining
    cell" with a = q_kk, b = predicted k but not k, c = k but predicted otherwise and d = the rest
    without q_00. Its SeK is eq. 18 on that 2×2, whose own "no change" is "not k": the plain kappa of
    [[d, c], [b, a]] (the separation is already done) times exp(IoU_k − 1), IoU_k = a / (a + b + c).

    Why not eq. 18 applied to the 2×2 as is, "not k" removed as q_00 would be: that leaves [[0, c],
    [b, a]], whose kappa is κ̂ = −2bc / (b² + c² + ab + ac) ≤ 0 for every prediction; a type could only
    score 100 (b = c = 0), 0 or less, whatever its IoU. The paper's Table II holds values from 0.1 to
    49.7, which only this reading can give.

    Each entry gives ``SeK`` (``None`` for a type in neither the prediction nor the ground truth),
    ``IoU`` and the type's ground-truth and predicted pixel counts.
    """
    q = np.asarray(q_from_to, dtype=np.int64).copy()
    q[0, 0] = 0  # SeK's separation (eq. 18)
    rest = q.sum()
    table: dict[int, dict[str, Any]] = {}
    for code in range(1, q.shape[0]):
        a = int(q[code, code])
        predicted, actual = int(q[code, :].sum()), int(q[:, code].sum())
        b, c = predicted - a, actual - a
        union = a + b + c
        sek = None
        if union:
            binary = np.array([[rest - union, c], [b, a]])
            sek = 100.0 * math.exp(a / union - 1.0) * _kappa(binary)
        iou = 100.0 * a / union if union else None
        table[code] = {"SeK": sek, "IoU": iou, "gt_pixels": actual, "pred_pixels": predicted}
    return table


def categorical_table_markdown(q_from_to: np.ndarray, labels: LabelSet = SECOND) -> str:
    """The ASN paper's Table II for one model: categorical SeK per from (row) → to (column) type.

    A dash marks a type present in neither the prediction nor the ground truth. The last line gives
    IoU_1 (no change) and IoU_2 (change) of the binary split, in percent.
    """
    table = categorical_sek(q_from_to)
    n = labels.num_classes
    names = [class_name(index, labels) for index in range(1, n + 1)]
    lines = ["| from \\ to | " + " | ".join(names) + " |", "|---" * (n + 1) + "|"]
    for before in range(1, n + 1):
        cells = []
        for after in range(1, n + 1):
            sek = table[1 + n * (before - 1) + (after - 1)]["SeK"]
            cells.append("–" if sek is None else f"{sek:.1f}")
        lines.append(f"| {names[before - 1]} | " + " | ".join(cells) + " |")
    binary = scores(q_from_to)
    lines.append("")
    lines.append(f"IoU_1 (no change): {binary['IoU_nc']:.1f} · IoU_2 (change): {binary['IoU_c']:.1f}")
    return "\n".join(lines)
