"""Gains and losses (Pontius' components) of a from × to matrix, and as a run's summaries give them."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from scd_core.accounting.components import COMPONENTS, components


def test_a_three_class_matrix_splits_into_pontius_components_by_hand():
    # rows: date 1, columns: date 2; 2 ha of the diagonal changed but kept their class (--decode paper)
    matrix = np.array([[2.0, 5.0, 1.0], [3.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    parts = components(matrix, ["crop", "built", "water"], unchanged_ha=90.0)
    crop, built, water = (parts["components"][n] for n in ("crop", "built", "water"))
    assert (crop["gross_gain"], crop["gross_loss"], crop["net_change"], crop["swap"]) == (3, 6, -3, 6)
    assert (built["gross_gain"], built["gross_loss"], built["net_change"], built["swap"]) == (9, 3, 6, 6)
    assert (water["gross_gain"], water["gross_loss"], water["net_change"], water["swap"]) == (1, 4, -3, 2)
    assert {c["persistence"] for c in parts["components"].values()} == {None}  # no class where unchanged
    # total change 13 = quantity (3 + 6 + 3) / 2 + swap (6 + 6 + 2) / 2; persistence: unchanged + diagonal
    assert parts["totals"] == {"change": 13, "quantity": 6, "swap": 7, "persistence": 92}


def test_the_runs_summaries_hold_the_matrix_and_its_components_alike(run):
    summary = json.loads((run / "summary.json").read_text())
    with open(run / "summary.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    names, k = summary["classes"], len(summary["classes"])
    assert rows[0][1 : k + 1] == names and rows[0][k + 2 :] == [f"{c.replace('_', ' ')} (ha)" for c in COMPONENTS]
    matrix = np.array(summary["from_to"])
    np.testing.assert_allclose([[float(v) for v in row[1 : k + 1]] for row in rows[1:-1]], matrix, atol=1e-4)
    for name, row in zip(names, rows[1:-1], strict=True):
        expected = [summary["components"][name][c] for c in COMPONENTS[:-1]]
        assert [float(v) for v in row[k + 2 : -1]] == pytest.approx(expected, abs=1e-4) and row[-1] == ""
    totals = summary["totals"]
    assert totals["change"] == pytest.approx(summary["changed_ha"]) == pytest.approx(matrix.sum())
    assert totals["quantity"] + totals["swap"] == pytest.approx(totals["change"])
    assert totals["persistence"] == pytest.approx(summary["unchanged_ha"] + np.trace(matrix))
    assert summary["unchanged_ha"] > 0
    assert float(rows[-1][-1]) == pytest.approx(totals["persistence"], abs=1e-4)
