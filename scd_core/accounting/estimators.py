"""Accuracy and area from a stratified sample: Olofsson et al. (2014), eqs. 1-11.

The map's classes are the strata. A sample of ``n_i·`` points is drawn at random in each stratum ``i``
(map class ``i``) and each point is labelled with its reference class ``j``; ``n_ij`` counts them.
``W_i`` is the share of the map's area in stratum ``i`` and ``A`` the map's total area. Then

* the error matrix in area proportions, ``p̂_ij = W_i · n_ij / n_i·`` (eq. 4);
* overall accuracy ``Ô = Σ_j p̂_jj`` (eq. 1), user's accuracy ``Û_i = p̂_ii / p̂_i·`` (eq. 2), producer's
  accuracy ``P̂_j = p̂_jj / p̂_·j`` (eq. 3);
* their variances: ``V(Ô) = Σ_i W_i² Û_i (1 - Û_i) / (n_i· - 1)`` (eq. 5), ``V(Û_i) = Û_i (1 - Û_i) /
  (n_i· - 1)`` (eq. 6), and ``V(P̂_j)`` of eq. 7 with the estimated reference-class totals
  ``N̂_·j = Σ_i N_i· n_ij / n_i·`` (eq. 8), ``N_i·`` the map's pixels of stratum ``i``;
* the error-adjusted area of class ``k``, ``Â_k = A · p̂_·k`` with ``p̂_·k = Σ_i W_i n_ik / n_i·`` (eq. 9),
  its standard error ``S(p̂_·k) = √(Σ_i W_i² (n_ik / n_i·)(1 - n_ik / n_i·) / (n_i· - 1))`` (eq. 10) and
  ``S(Â_k) = A · S(p̂_·k)`` (eq. 11).

Confidence intervals are ±1.96 standard errors (95 %), as the paper gives them. A stratum with mapped
area needs two sample points at least: with one, ``n_i· - 1 = 0`` and no variance can be estimated.
With the paper's worked example (§5, Tables 8-9: 640 points in 4 strata over 10 million 30 m pixels,
18,000 ha mapped as deforestation) these give its 21,158 ± 6,158 ha.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The normal quantile of a two-sided 95 % interval.
Z95 = 1.96


@dataclass(frozen=True)
class Assessment:
    """The estimates of a stratified sample (all arrays by class, in the order of the error matrix)."""

    proportions: np.ndarray  #: p̂_ij, the error matrix in area proportions (map rows, reference columns)
    overall: float
    overall_ci: float
    users: np.ndarray
    users_ci: np.ndarray
    producers: np.ndarray
    producers_ci: np.ndarray
    area: np.ndarray  #: error-adjusted area of each reference class, in the unit of ``total_area``
    area_ci: np.ndarray
    mapped_area: np.ndarray


def assess(counts: np.ndarray, mapped_pixels: np.ndarray, pixel_area: float) -> Assessment:
    """Olofsson et al.'s estimates from the sample's ``counts`` (``n_ij``: map class rows, reference
    class columns, the same classes in the same order) and each map class's ``mapped_pixels``
    (``N_i·``), each pixel ``pixel_area`` in the unit areas are wanted in.

    Raises:
        ValueError: the matrix is not square, a stratum with mapped area has fewer than two sample
            points (its message lists them), or the counts are negative.
    """
    n = np.asarray(counts, dtype=np.float64)
    mapped = np.asarray(mapped_pixels, dtype=np.float64)
    if n.ndim != 2 or n.shape[0] != n.shape[1] or mapped.shape != (n.shape[0],):
        raise ValueError(f"counts must be k×k and mapped pixels k long, got {n.shape} and {mapped.shape}")
    if (n < 0).any() or (mapped < 0).any():
        raise ValueError("counts and mapped pixels cannot be negative")
    sampled = n.sum(axis=1)  # n_i·
    if few := [int(i) for i in np.flatnonzero((sampled < 2) & (mapped > 0))]:
        raise ValueError(f"strata {few} have mapped area but fewer than 2 sample points: no variance")
    weights = mapped / mapped.sum()  # W_i
    share = n / np.where(sampled > 0, sampled, 1)[:, None]  # n_ij / n_i·
    p = weights[:, None] * share  # eq. 4
    dof = np.divide(1.0, sampled - 1, out=np.zeros_like(sampled), where=sampled > 1)  # 1 / (n_i· - 1)
    users = np.diag(share).copy()  # eq. 2: p̂_ii / p̂_i· = n_ii / n_i·
    column = p.sum(axis=0)  # p̂_·j
    producers = np.divide(np.diag(p), column, out=np.zeros_like(column), where=column > 0)  # eq. 3
    overall = float(np.trace(p))  # eq. 1
    overall_var = float(np.sum(weights**2 * users * (1 - users) * dof))  # eq. 5
    users_var = users * (1 - users) * dof  # eq. 6
    estimated = (mapped[:, None] * share).sum(axis=0)  # N̂_·j, eq. 8
    producers_var = np.zeros_like(producers)
    for j in range(len(producers)):  # eq. 7
        others = [i for i in range(len(producers)) if i != j]
        first = mapped[j] ** 2 * (1 - producers[j]) ** 2 * users[j] * (1 - users[j]) * dof[j]
        second = producers[j] ** 2 * sum(mapped[i] ** 2 * share[i, j] * (1 - share[i, j]) * dof[i] for i in others)
        producers_var[j] = (first + second) / estimated[j] ** 2 if estimated[j] > 0 else 0.0
    total = mapped.sum() * pixel_area  # A
    area_se = total * np.sqrt((weights[:, None] ** 2 * share * (1 - share) * dof[:, None]).sum(axis=0))  # eqs. 10-11
    return Assessment(
        proportions=p,
        overall=overall,
        overall_ci=Z95 * np.sqrt(overall_var),
        users=users,
        users_ci=Z95 * np.sqrt(users_var),
        producers=producers,
        producers_ci=Z95 * np.sqrt(producers_var),
        area=total * column,  # eq. 9
        area_ci=Z95 * area_se,
        mapped_area=mapped * pixel_area,
    )
