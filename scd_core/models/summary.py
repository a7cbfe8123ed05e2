"""One row per model and encoder variant: its paper, its size and its cost.

Costs are counted, not estimated: each model is built on the ``meta`` device, which records shapes
but allocates no memory and computes nothing, and run on one pair of 3×512×512 images (SECOND's tile
size) under :class:`torch.utils.flop_counter.FlopCounterMode`. A multiply-accumulate is two of its
FLOPs; the counter sees convolutions and matrix products, so normalisation, activations and sums are
not in the MACs, as is usual for such tables.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from scd_core.models import available, build, spec

#: Side of the square images the MACs are counted for (SECOND's tile). This module imports torch only
#: when it counts, so the command line can read this without loading it.
TILE = 512


@cache
def _count(name: str, size: int, hparams: tuple[tuple[str, Any], ...]) -> tuple[int, int]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = build(name, **dict(hparams)).eval()
        image = torch.empty(1, 3, size, size)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(image, image)
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


def count(name: str, size: int = TILE, **hparams: Any) -> tuple[int, int]:
    """Learned parameters and MACs of model ``name`` for one pair of 3×size×size images.

    Parameters count every learned weight, frozen or not (ASN-ATL's include ASN's, learned in its
    first stage), and no buffers. Counts are remembered per process: the meta-device pass is slow
    (about half a second per variant) and its result never changes.
    """
    return _count(name, size, tuple(sorted(hparams.items())))


def model_table(size: int = TILE) -> list[dict[str, Any]]:
    """Rows ``{name, encoder, paper, params, macs}`` for every registered model and encoder variant.

    ``encoder`` is ``None`` for models without encoder variants.
    """
    rows = []
    for name in available():
        entry = spec(name)
        for encoder in entry.encoders or (None,):
            hparams = {} if encoder is None else {"encoder": encoder}
            params, macs = count(name, size, **hparams)
            rows.append({"name": name, "encoder": encoder, "paper": entry.paper, "params": params, "macs": macs})
    return rows
