"""Gains and losses: Pontius' components of change of each class, from a run's from × to hectares.

For a transition matrix ``C`` in hectares (rows: the class at date 1, columns: at date 2), after
Pontius, Shusas and McEachern (2004) and Pontius and Santacruz (2014), each class ``j`` has

* gross gain ``G_j = Σ_i C_ij − C_jj`` (what became ``j``);
* gross loss ``L_j = Σ_k C_jk − C_jj`` (what ``j`` became);
* net change ``N_j = G_j − L_j`` (signed: growth is positive; Pontius' quantity is ``|N_j|``);
* swap ``S_j = 2 min(G_j, L_j)`` (change that moved ``j`` without changing how much there is);
* persistence ``P_j = C_jj``.

Over all classes, total change ``ΣG = ΣL`` splits into quantity ``Σ|N|/2`` and swap ``ΣS/2``.

Reading for scd's maps: like SECOND's labels, a run's maps give a class only where the map changed
(``before_class.tif`` is 0 elsewhere), so how much of each class stayed put is not known and its
persistence is left empty (None). The total persistence is known: the unchanged area of the map,
plus any changed pixel whose two dates got the same class (``--decode paper`` allows it: the change
head saw change, the classifiers did not), the matrix's diagonal, which is counted in neither gain
nor loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: A class's components, in the order ``summary.csv`` gives them beside the matrix.
COMPONENTS = ("gross_gain", "gross_loss", "net_change", "swap", "persistence")


def components(hectares: np.ndarray, class_names: Sequence[str], unchanged_ha: float) -> dict[str, Any]:
    """Each class's components and the totals (see the module docstring), in hectares, as
    ``summary.json`` holds them."""
    matrix = np.asarray(hectares, dtype=np.float64)
    kept = np.diag(matrix)
    gain, loss = matrix.sum(axis=0) - kept, matrix.sum(axis=1) - kept
    net, swap = gain - loss, 2 * np.minimum(gain, loss)
    return {
        "components": {
            name: dict(zip(COMPONENTS, (*map(float, parts), None), strict=True))
            for name, *parts in zip(class_names, gain, loss, net, swap, strict=True)
        },
        "totals": {
            "change": float(gain.sum()),
            "quantity": float(np.abs(net).sum() / 2),
            "swap": float(swap.sum() / 2),
            "persistence": float(unchanged_ha + kept.sum()),
        },
    }
