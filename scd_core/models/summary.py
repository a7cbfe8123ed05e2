"""One row per model and encoder variant: its paper, its size and its cost.

Costs are counted, not estimated: each model is built on the ``meta`` device, which records shapes
but allocates no memory and computes nothing, and run on one pair of 3×512×512 images (SECOND's tile
size) under :class:`torch.utils.flop_counter.FlopCounterMode`. A multiply-accumulate is two of its
FLOPs; the counter sees convolutions and matrix products, so normalisation, activations and sums are
not in the MACs, as is usual for such tables.

Counting every variant takes about 15 s, so ``scd models`` prints the table stored beside this module
(``model_table.json``), which reads in milliseconds without importing torch. A test counts every
variant again and compares it with the stored table, so the two cannot drift apart; after changing a
model, ``python -m scd_core.models.summary`` rewrites it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from scd_core.atomic import atomic_write
from scd_core.models import available, build, spec

#: The counted table that ``scd models`` prints, one row per variant, in :func:`model_table`'s order.
STORED_TABLE = Path(__file__).with_name("model_table.json")

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


def stored_table() -> list[dict[str, Any]]:
    """The rows of :func:`model_table` as last counted and stored in :data:`STORED_TABLE`."""
    rows: list[dict[str, Any]] = json.loads(STORED_TABLE.read_text(encoding="utf-8"))
    return rows


def write_stored_table() -> None:
    """Count every variant and store the table (atomically), one row per line for readable diffs."""
    rows = model_table()
    with atomic_write(STORED_TABLE) as out:
        out.write("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n")


if __name__ == "__main__":
    write_stored_table()
    print(f"wrote {STORED_TABLE}")
