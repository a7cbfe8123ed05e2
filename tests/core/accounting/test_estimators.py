"""Olofsson et al. (2014)'s estimators on the paper's own example: 18,000 ha mapped as deforestation,
21,158 ± 6,158 ha estimated from the sample."""

from __future__ import annotations

import numpy as np
import pytest

from scd_core.accounting.estimators import assess

#: The paper's worked example (§5, Tables 8-9), 640 points: map classes (rows) deforestation, forest
#: gain, stable forest, stable non-forest against the reference classes (columns) in the same order.
COUNTS = np.array([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]])
#: The map's pixels of each class (30 m Landsat pixels, 0.09 ha each).
MAPPED = np.array([200_000, 150_000, 3_200_000, 6_450_000])
HECTARES = 0.09


def test_the_papers_example_gives_its_error_adjusted_area_and_interval():
    result = assess(COUNTS, MAPPED, HECTARES)
    assert result.mapped_area[0] == pytest.approx(18_000)
    assert result.area[0] == pytest.approx(21_158, abs=1)
    assert result.area_ci[0] == pytest.approx(6_158, abs=1)
    assert result.area.sum() == pytest.approx(MAPPED.sum() * HECTARES)  # the areas share out the map


def test_accuracies_are_the_papers_and_each_interval_the_variance_formula_of_its_equation():
    result = assess(COUNTS, MAPPED, HECTARES)
    assert result.users[0] == pytest.approx(66 / 75)
    assert result.users_ci[0] == pytest.approx(1.96 * np.sqrt(0.88 * 0.12 / 74))
    assert result.producers[0] == pytest.approx(0.75, abs=0.005)
    assert result.overall == pytest.approx(0.95, abs=0.005)
    # eq. 1 against eq. 4's matrix, and eq. 3 as the ratio of its diagonal to its column sums
    assert result.overall == pytest.approx(np.trace(result.proportions))
    assert result.producers == pytest.approx(np.diag(result.proportions) / result.proportions.sum(axis=0))


def test_a_perfect_sample_estimates_the_mapped_areas_with_no_uncertainty():
    result = assess(np.diag([10, 20, 30]), np.array([100, 200, 700]), 1.0)
    assert result.area == pytest.approx([100, 200, 700])
    assert result.area_ci == pytest.approx([0, 0, 0])
    assert result.overall == 1.0 and result.overall_ci == 0.0


def test_a_mapped_stratum_with_fewer_than_two_points_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"strata \[0\] have mapped area but fewer than 2 sample points"):
        assess(np.array([[1, 0], [2, 18]]), np.array([50, 950]), 1.0)
    assert assess(np.array([[0, 0], [2, 18]]), np.array([0, 950]), 1.0).area[0] == pytest.approx(2 / 20 * 950)
