"""How many points, and how many in each stratum: the sampling design of Olofsson et al. (2014), §5.1.

**Size.** Cochran's formula for a target standard error ``S(Ô)`` of overall accuracy, given conjectured
user's accuracies ``U_i`` (eq. 13): ``n = (Σ_i W_i S_i / S(Ô))²`` with ``S_i = √(U_i (1 - U_i))`` the
standard deviation of stratum ``i`` and ``W_i`` its share of the map.

**Allocation.**

* ``proportional``: ``n_i ∝ W_i``, which leaves rare change strata with a handful of points;
* ``equal``: the same in every stratum;
* ``neyman``: ``n_i ∝ W_i S_i``, the allocation of least variance for overall accuracy;
* ``olofsson``: the paper's recommendation, a minimum (``--min-per-stratum``, 50 by default, the
  paper's example uses 50-100) in every stratum the proportional share would leave below it, the rest
  proportional among the others.
  Where the minimums would leave the common strata less than half their proportional share, those
  keep that share and the total grows: a map of many rare change types must not leave "no change"
  all but unsampled.

Counts are whole by the largest remainder, and no stratum gets more points than it has pixels.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scd_core.vocabulary import OPTIONS

#: The allocations ``--allocation`` offers (the vocabulary lists them once).
ALLOCATIONS = OPTIONS["allocation"].choices


def cochran_size(weights: ArrayLike, users: ArrayLike, target_se: float) -> int:
    """Olofsson et al.'s eq. 13: points for a standard error ``target_se`` of overall accuracy."""
    w, u = np.asarray(weights, dtype=np.float64), np.asarray(users, dtype=np.float64)
    return int(np.ceil((np.sum(w * np.sqrt(u * (1 - u))) / target_se) ** 2))


def _whole(shares: np.ndarray, total: int) -> np.ndarray:
    """``shares`` (summing to ``total``) as whole numbers with that sum: the largest remainders round up."""
    floor = np.floor(shares).astype(np.int64)
    order = np.argsort(-(shares - floor), kind="stable")
    floor[order[: total - int(floor.sum())]] += 1
    return floor


def allocate(
    total: int, weights: ArrayLike, users: ArrayLike, method: str, minimum: int, capacity: ArrayLike
) -> np.ndarray:
    """Points of each stratum (see the module docstring); ``capacity`` is each stratum's pixel count."""
    w, u = np.asarray(weights, dtype=np.float64), np.asarray(users, dtype=np.float64)
    cap = np.asarray(capacity, dtype=np.int64)
    total = int(min(total, cap.sum()))
    if method == "proportional":
        shares = total * w
    elif method == "equal":
        shares = np.full(len(w), total / len(w))
    elif method == "neyman":
        spread = w * np.sqrt(u * (1 - u))
        shares = total * spread / spread.sum() if spread.sum() > 0 else total * w
    elif method == "olofsson":
        floor = np.minimum(minimum, cap).astype(np.float64)
        rare = total * w < floor
        rest = total - floor[rare].sum()
        common = rest * w / max(w[~rare].sum(), 1e-300) if rest >= total * w[~rare].sum() / 2 else total * w
        shares = np.where(rare, floor, common)
        total = int(np.round(shares.sum()))
    else:
        raise ValueError(f"allocation must be one of {', '.join(ALLOCATIONS)}, got {method!r}")
    counts = _whole(shares * total / max(shares.sum(), 1e-300), total)
    while (over := counts > cap).any():  # a stratum smaller than its share: the rest go elsewhere
        spare = int((counts[over] - cap[over]).sum())
        counts[over] = cap[over]
        room = cap - counts
        counts += _whole(spare * room / room.sum(), spare) if room.sum() else 0
    return counts
