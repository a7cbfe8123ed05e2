"""SECOND metrics: hand-computed matrices, both conventions, degenerate cases, an independent reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scd_core import metrics
from scd_core.errors import InconsistentChangeError
from scd_core.labels import change_code

# q[pred, gt] over classes 0 (no change), 1, 2, worked out by hand below.
HAND_Q = np.array([[50, 5, 5], [5, 20, 5], [0, 0, 10]])


def test_hand_computed_matrix():
    s = metrics.scores(HAND_Q)
    # OA = (50 + 20 + 10) / 100
    assert s["OA"] == pytest.approx(80.0)
    # rows 60, 30, 10; columns 55, 25, 20; eta = (60·55 + 30·25 + 10·20) / 100² = 0.425
    assert s["kappa"] == pytest.approx(100 * (0.8 - 0.425) / 0.575)
    # IoU_nc = 50 / (60 + 55 - 50); IoU_c = (20 + 5 + 0 + 10) / (100 - 50)
    assert s["IoU_nc"] == pytest.approx(100 * 50 / 65)
    assert s["IoU_c"] == pytest.approx(70.0)
    assert s["mIoU"] == pytest.approx(100 * (50 / 65 + 0.7) / 2)
    # without q00: n = 50, rho = 30/50, rows 10, 30, 10, columns 5, 25, 20, eta = 1000/2500 = 0.4
    kappa_hat = (0.6 - 0.4) / (1 - 0.4)
    assert s["SeK"] == pytest.approx(100 * math.exp(0.7 - 1) * kappa_hat)
    # 30 correctly typed changed pixels of 40 predicted changed and 45 truly changed
    precision, recall = 30 / 40, 30 / 45
    assert s["Fscd"] == pytest.approx(100 * 2 * precision * recall / (precision + recall))
    assert s["Score"] == pytest.approx(0.3 * s["mIoU"] + 0.7 * s["SeK"])


def test_orientation_rows_are_predictions():
    confusion = metrics.SCDConfusion()
    pred, gt = np.array([1, 2, 2]), np.array([0, 0, 1])
    # date 1 = date 2 keeps every pixel's from-to pair consistent
    with pytest.raises(InconsistentChangeError):
        confusion.update(pred, pred, gt, np.array([3, 0, 1]))
    confusion.update(pred, pred, gt, gt)
    per_date = confusion.per_date
    assert per_date[1, 0] == 2 and per_date[2, 0] == 2 and per_date[2, 1] == 2
    assert per_date.sum() == 6


def _pair(seed: int, size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    changed = rng.random((size, size)) < 0.3
    return rng.integers(1, 7, (size, size)) * changed, rng.integers(1, 7, (size, size)) * changed


def test_per_date_counts_a_changed_pixel_twice_from_to_once():
    gt1, gt2 = np.array([[0, 3]]), np.array([[0, 5]])
    confusion = metrics.SCDConfusion()
    confusion.update(gt1, gt2, gt1, gt2)
    per_date, from_to = confusion.per_date, confusion.from_to
    assert per_date[0, 0] == 2 and per_date[3, 3] == 1 and per_date[5, 5] == 1
    code = change_code(np.array([3]), np.array([5]))[0]
    assert from_to[0, 0] == 1 and from_to[code, code] == 1 and from_to.sum() == 2


def test_both_conventions_differ_on_a_wrong_from_class():
    gt1, gt2 = _pair(1)
    pred1 = np.where(gt1 > 0, (gt1 % 6) + 1, 0)  # every "from" class wrong, every "to" class right
    confusion = metrics.SCDConfusion()
    confusion.update(pred1, gt2, gt1, gt2)
    result = confusion.scores()
    assert result["from_to"]["SeK"] < 1.0  # no change type is right
    assert result["per_date"]["SeK"] > 20.0  # but half the per-date classes are
    assert result["per_date"]["IoU_c"] == result["from_to"]["IoU_c"] == pytest.approx(100.0)


def test_perfect_prediction_scores_100_everywhere():
    gt1, gt2 = _pair(2)
    confusion = metrics.SCDConfusion()
    confusion.update(gt1, gt2, gt1, gt2)
    for convention in metrics.CONVENTIONS:
        assert confusion.scores()[convention] == pytest.approx(dict.fromkeys(metrics.SCORE_KEYS, 100.0))


def test_collapsed_no_change_prediction_sek_zero_oa_high():
    rng = np.random.default_rng(3)
    changed = rng.random((64, 64)) < 0.08
    gt1, gt2 = rng.integers(1, 7, (64, 64)) * changed, rng.integers(1, 7, (64, 64)) * changed
    nothing = np.zeros_like(gt1)
    confusion = metrics.SCDConfusion()
    confusion.update(nothing, nothing, gt1, gt2)
    for convention in metrics.CONVENTIONS:
        s = confusion.scores()[convention]
        assert s["SeK"] == 0.0 and s["IoU_c"] == 0.0 and s["Fscd"] == 0.0
        assert s["OA"] > 85.0  # the paper's argument for SeK: OA rewards the collapse


@pytest.mark.parametrize(
    ("gt_changed", "pred_changed", "expected"),
    [
        (False, False, {"SeK": 100.0, "IoU_c": 100.0, "Fscd": 100.0, "IoU_nc": 100.0}),
        (True, False, {"SeK": 0.0, "IoU_c": 0.0, "Fscd": 0.0}),
        (False, True, {"SeK": 0.0, "IoU_c": 0.0, "Fscd": 0.0}),
    ],
)
def test_degenerate_change_sets_are_defined(gt_changed, pred_changed, expected):
    changed = np.zeros((8, 8), int)
    changed[:2] = 1
    gt = changed * 3 if gt_changed else changed * 0
    pred = changed * 4 if pred_changed else changed * 0
    confusion = metrics.SCDConfusion()
    confusion.update(pred, pred, gt, gt)
    for convention in metrics.CONVENTIONS:
        s = confusion.scores()[convention]
        assert all(math.isfinite(v) for v in s.values())
        for key, value in expected.items():
            assert s[key] == pytest.approx(value)


def test_all_changed_and_perfect_has_degenerate_kappa_zero_as_the_official_scorer():
    gt = np.full((4, 4), 2)
    confusion = metrics.SCDConfusion()
    confusion.update(gt, gt, gt, gt)
    s = confusion.scores()["from_to"]
    # every pixel in one diagonal cell: chance agreement 1, kappa undefined; SECOND's scorer says 0
    assert s["IoU_nc"] == 100.0 and s["IoU_c"] == 100.0
    assert s["kappa"] == 0.0 and s["SeK"] == 0.0


def test_empty_matrix_scores_zero():
    assert metrics.scores(np.zeros((7, 7))) == dict.fromkeys(metrics.SCORE_KEYS, 0.0)


def test_ignored_ground_truth_drops_the_pixel_from_to_but_only_its_date_per_date():
    gt1, gt2 = np.array([0, 3, 255, 255]), np.array([0, 4, 2, 255])
    confusion = metrics.SCDConfusion()
    confusion.update(np.array([0, 3, 1, 1]), np.array([0, 4, 1, 1]), gt1, gt2)
    assert confusion.from_to.sum() == 2  # pixels 0 and 1: both dates scored
    per_date = confusion.per_date
    # date 1: pixels 0, 1; date 2: pixels 0, 1 and 2 (its date-1 label is ignored, Bi-SRNet keeps it)
    assert per_date.sum() == 5 and per_date[1, 2] == 1


def test_any_class_count():
    rng = np.random.default_rng(0)
    changed = rng.random((16, 16)) < 0.5
    gt1, gt2 = rng.integers(1, 5, (16, 16)) * changed, rng.integers(1, 5, (16, 16)) * changed
    confusion = metrics.SCDConfusion(num_classes=4)
    confusion.update(gt1, gt2, gt1, gt2)
    assert confusion.per_date.shape == (5, 5) and confusion.from_to.shape == (17, 17)
    assert confusion.scores()["from_to"]["SeK"] == pytest.approx(100.0)
    expected = change_code(gt1, gt2, num_classes=4)
    assert np.array_equal(np.diag(confusion.from_to), np.bincount(expected.ravel(), minlength=17))
    with pytest.raises(ValueError, match=r"outside 0\.\.4"):
        confusion.update(gt1 + 1, gt2 + 1, gt1, gt2)


def test_half_changed_prediction_is_rejected():
    gt = np.array([0, 3])
    with pytest.raises(InconsistentChangeError) as raised:
        metrics.SCDConfusion().update(np.array([0, 3]), np.array([2, 3]), gt, gt)
    assert raised.value.side == "prediction"


def test_out_of_range_prediction_is_rejected():
    gt = np.array([0, 3])
    with pytest.raises(ValueError, match=r"outside 0\.\.6"):
        metrics.SCDConfusion().update(np.array([0, 9]), np.array([0, 3]), gt, gt)


def test_torch_accumulation_matches_numpy():
    torch = pytest.importorskip("torch")
    gt1, gt2 = _pair(4)
    pred1, pred2 = _pair(5)
    from_numpy, from_torch = metrics.SCDConfusion(), metrics.SCDConfusion()
    for _ in range(2):
        from_numpy.update(pred1, pred2, gt1, gt2)
        from_torch.update(*(torch.from_numpy(a) for a in (pred1, pred2, gt1, gt2)))
    assert np.array_equal(from_numpy.per_date, from_torch.per_date)
    assert np.array_equal(from_numpy.from_to, from_torch.from_to)


# An independent implementation of the formulas, straight from the ASN paper's eqs. 13-18, computed
# from pixel arrays with boolean masks (no confusion matrix), for the agreement check below.
def _reference(pred: np.ndarray, gt: np.ndarray, classes: int) -> dict[str, float]:
    n = pred.size
    oa = np.mean(pred == gt)
    eta = sum(np.sum(pred == c) * np.sum(gt == c) for c in range(classes)) / n**2
    kappa = (oa - eta) / (1 - eta)
    both_nc = np.sum((pred == 0) & (gt == 0))
    iou_nc = both_nc / np.sum((pred == 0) | (gt == 0))
    iou_c = np.sum((pred != 0) & (gt != 0)) / np.sum((pred != 0) | (gt != 0))
    keep = ~((pred == 0) & (gt == 0))
    p, g, m = pred[keep], gt[keep], keep.sum()
    rho_hat = np.sum((p == g) & (p != 0)) / m
    eta_hat = sum(np.sum(p == c) * np.sum(g == c) for c in range(classes)) / m**2
    sek = math.exp(iou_c - 1) * (rho_hat - eta_hat) / (1 - eta_hat)
    correct = np.sum((pred == gt) & (gt != 0))
    precision, recall = correct / np.sum(pred != 0), correct / np.sum(gt != 0)
    fscd = 2 * precision * recall / (precision + recall)
    miou = (iou_nc + iou_c) / 2
    values = {"OA": oa, "kappa": kappa, "mIoU": miou, "SeK": sek, "Fscd": fscd, "IoU_nc": iou_nc, "IoU_c": iou_c}
    values = {k: 100 * float(v) for k, v in values.items()}
    values["Score"] = 0.3 * values["mIoU"] + 0.7 * values["SeK"]
    return values


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_independent_reference_in_both_conventions(seed):
    gts = [_pair(100 * seed + i) for i in range(3)]
    rng = np.random.default_rng(seed)
    preds = []
    for gt1, gt2 in gts:  # noisy predictions: right about 60% of the time
        keep = rng.random(gt1.shape) < 0.6
        noise1, noise2 = _pair(int(rng.integers(1 << 30)))
        preds.append((np.where(keep, gt1, noise1), np.where(keep, gt2, noise2)))
    confusion = metrics.SCDConfusion()
    for (p1, p2), (g1, g2) in zip(preds, gts, strict=True):
        confusion.update(p1, p2, g1, g2)
    ours = confusion.scores()

    per_date_pred = np.concatenate([np.concatenate([p1.ravel(), p2.ravel()]) for p1, p2 in preds])
    per_date_gt = np.concatenate([np.concatenate([g1.ravel(), g2.ravel()]) for g1, g2 in gts])
    from_to_pred = np.concatenate([change_code(p1, p2).ravel() for p1, p2 in preds])
    from_to_gt = np.concatenate([change_code(g1, g2).ravel() for g1, g2 in gts])
    expected = {
        "per_date": _reference(per_date_pred, per_date_gt, 7),
        "from_to": _reference(from_to_pred.astype(int), from_to_gt.astype(int), 37),
    }
    for convention in metrics.CONVENTIONS:
        for key in metrics.SCORE_KEYS:
            assert ours[convention][key] == pytest.approx(expected[convention][key], abs=1e-6), (convention, key)


def test_categorical_sek_removes_q00_first_then_takes_kappa_of_type_vs_rest():
    gt1 = np.array([3, 3, 3, 3, 2, 2, 1, 1, 0, 0])
    gt2 = np.array([5, 5, 5, 5, 1, 1, 4, 4, 0, 0])
    pred1 = np.array([3, 3, 3, 0, 2, 2, 1, 1, 3, 0])
    pred2 = np.array([5, 5, 5, 0, 4, 4, 4, 4, 5, 0])
    confusion = metrics.SCDConfusion()
    confusion.update(pred1, pred2, gt1, gt2)
    table = metrics.categorical_sek(confusion.from_to)
    veg_to_building = change_code(np.array([3]), np.array([5]))[0]
    ground_to_water = change_code(np.array([2]), np.array([1]))[0]
    entry = table[veg_to_building]
    assert entry["gt_pixels"] == 4 and entry["pred_pixels"] == 4
    # q00 (one pixel) removed: 9 pixels remain. Veg→building: a = 3 hits, b = 1 (gt no change),
    # c = 1 (predicted no change), d = 4 other pixels. kappa of [[4, 1], [1, 3]]: rho = 7/9,
    # eta = (5·5 + 4·4)/81; IoU = 3/5.
    rho, eta = 7 / 9, (5 * 5 + 4 * 4) / 81
    assert entry["SeK"] == pytest.approx(100 * math.exp(3 / 5 - 1) * (rho - eta) / (1 - eta))
    assert 0 < entry["SeK"] < 100 and entry["IoU"] == pytest.approx(60.0)
    # ground→water, all predicted as ground→tree: a = b = 0, c = 2; kappa of [[7, 2], [0, 0]] is 0
    assert table[ground_to_water]["SeK"] == pytest.approx(0.0, abs=1e-9) and table[ground_to_water]["IoU"] == 0.0
    water_to_tree = change_code(np.array([1]), np.array([4]))[0]
    assert table[water_to_tree]["IoU"] == 100.0 and 0 < table[water_to_tree]["SeK"] <= 100
    absent = change_code(np.array([6]), np.array([6]))[0]
    assert table[absent]["SeK"] is None and table[absent]["gt_pixels"] == 0
    markdown = metrics.categorical_table_markdown(confusion.from_to)
    assert "| low vegetation |" in markdown and "IoU_1 (no change)" in markdown
    assert markdown.count("–") == 36 - 4  # types in neither prediction nor ground truth


@pytest.mark.parametrize("seed", range(5))
def test_the_rejected_reading_is_degenerate_as_the_docstring_shows(seed):
    """Eq. 18 on the 2×2 "type vs rest" with the rest removed: kappa = −2bc/(b² + c² + ab + ac) ≤ 0."""
    a, b, c = (int(v) for v in np.random.default_rng(seed).integers(1, 1000, 3))
    kappa = metrics.scores(np.array([[0, c], [b, a]]))["SeK"] / math.exp(a / (a + b + c) - 1) / 100
    assert kappa == pytest.approx(-2 * b * c / (b * b + c * c + a * b + a * c))
    assert kappa < 0


def test_a_good_imperfect_prediction_scores_every_type_strictly_between_0_and_100():
    gts = [_pair(40 + i) for i in range(4)]
    rng = np.random.default_rng(4)
    confusion = metrics.SCDConfusion()
    for gt1, gt2 in gts:
        wrong = rng.random(gt1.shape) < 0.15  # 15% of pixels get another (consistent) label
        noise1, noise2 = _pair(int(rng.integers(1 << 30)))
        confusion.update(np.where(wrong, noise1, gt1), np.where(wrong, noise2, gt2), gt1, gt2)
    values = [entry["SeK"] for entry in metrics.categorical_sek(confusion.from_to).values()]
    assert all(value is not None and 0 < value < 100 for value in values)
