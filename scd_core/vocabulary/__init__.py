"""Every option of every ``scd`` command, in one place: its name, type, default, choices and range,
the label the QGIS dialog shows, the command line's help, and its check with the message.

Three sides read it, so none can drift from another:

* the command line builds its arguments from it (:func:`scd_core.cli.arguments.add_option`);
* :class:`~scd_core.geo.options.DetectOptions` checks its values with it;
* the QGIS plugin builds its Processing parameters (range, default, choices) and checks typed values
  with it (the plugin reads this very file: ``qgis_scd_plugin/shared.py``).

A check's message names the option as its reader knows it, the flag on the command line and the
label in the dialog: :meth:`Option.problem` gives the words after the name (``must be at least 0,
got -1``) and each side puts its own name in front.

The rules that tie two options together (the overlap against the tile, ``--aoi`` against ``--bbox``)
and those that need a file (a band the raster does not have) stay with the code that knows both.

Stdlib only: QGIS's own Python reads it, without scd's dependencies, as it reads
:mod:`scd_core.legend`.
"""

from __future__ import annotations

from .accounting import ASSESS, SAMPLE, ZONES
from .detect import (
    BLOCK_MULTIPLE,
    DECODINGS,
    DEFAULT_BATCH,
    DETECT,
    DEVICES,
    DIALOG_MIN_AREA_M2,
    NAMED_SCALES,
    PRECISIONS,
    PROGRESS_STYLES,
    RUN,
    RUNTIMES,
    SCORE,
    TILE_MULTIPLE,
    device_problem,
)
from .models import EVALUATE, EXPORT, TRAIN
from .option import Option
from .series import MAX_DATES, PAIRINGS, SERIES

#: The options of one run that ``scd batch`` takes per pair, from PAIRS.csv, or not at all (zones, blocks).
_PER_PAIR = ("aoi", "bbox", "block_size", "zones", "zone_field", "mask_before", "mask_after")
#: Every option by command; ``batch`` has ``detect``'s but one run's areas, masks, zones and blocks (PAIRS.csv gives
#: areas and masks)
COMMANDS: dict[str, tuple[Option, ...]] = {
    "detect": DETECT + RUN,
    "batch": tuple(o for o in DETECT + RUN if o.name not in _PER_PAIR),
    "score": SCORE,
    "export": EXPORT,
    "evaluate": EVALUATE,
    "train": TRAIN,
    "sample": SAMPLE,
    "assess": ASSESS,
    "zones": ZONES,
    # a series' masks are one per date (--mask-series); its pairs are its own, one task each (no blocks)
    "series": SERIES + tuple(o for o in DETECT + RUN if o.name not in ("block_size", "mask_before", "mask_after")),
}
#: Every option by name: a name means one thing in every command, with its range and type (its help
#: may say what it does there: ``--overwrite``).
OPTIONS: dict[str, Option] = {option.name: option for options in COMMANDS.values() for option in options}

__all__ = [
    "ASSESS", "BLOCK_MULTIPLE", "COMMANDS", "DECODINGS", "DEFAULT_BATCH", "DETECT", "DEVICES", "DIALOG_MIN_AREA_M2",
    "EVALUATE", "EXPORT", "MAX_DATES", "NAMED_SCALES", "OPTIONS", "PAIRINGS", "PRECISIONS", "PROGRESS_STYLES", "RUN",
    "RUNTIMES", "SAMPLE", "SCORE", "SERIES", "TILE_MULTIPLE", "TRAIN", "ZONES", "Option", "device_problem",
]  # fmt: skip
