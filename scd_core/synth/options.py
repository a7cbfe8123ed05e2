"""The options of ``scd synth second`` and ``scd synth geo``: a developer's tool that makes test scenes.

They are :class:`~scd_core.vocabulary.Option` values like every other command's, but kept here: the
QGIS plugin never offers them, and ``synth`` gives some names other meanings (``--bands`` is a count
of bands here, ``--resolution`` CRS units).
"""

from __future__ import annotations

from scd_core.vocabulary import Option


def _synth(default_size: int) -> tuple[Option, ...]:
    """What both ``scd synth`` sub-commands take: the scene's size and seed, and ``--overwrite``."""
    return (
        Option(
            "size",
            "--size",
            "Size (pixels)",
            "HEIGHT [WIDTH] in pixels, one number for a square",
            int,
            default=default_size,
            minimum=1,
            metavar="PX",
            values="+",
        ),
        Option("seed", "--seed", "Seed", "random seed: the same seed writes the same bytes", int, default=0),
        Option(
            "overwrite", "--overwrite", "Overwrite", "replace the files of the same name in OUT", bool, default=False
        ),
    )


#: ``scd synth``'s options: a developer's tool, whose ``--bands`` (a band count) and ``--resolution``
#: (CRS units) are not the detection's and the export's, so they stay out of :data:`scd_core.vocabulary.OPTIONS`.
SYNTH_SECOND = (
    *_synth(512),
    Option("pairs", "--pairs", "Pairs", "number of pairs", int, default=10, minimum=0),
)
SYNTH_GEO = (
    *_synth(1024),
    Option("crs", "--crs", "CRS", "CRS of BEFORE", default="EPSG:32633"),
    Option(
        "resolution",
        "--resolution",
        "Resolution",
        "pixel size in CRS units (default 0.5 m, or its equivalent in degrees)",
        float,
        minimum=0.0,
        open_range=True,
    ),
    Option(
        "origin",
        "--origin",
        "Origin",
        "upper-left corner in CRS units (default: Berlin)",
        float,
        metavar=("X", "Y"),
        values=2,
    ),
    Option(
        "dtype",
        "--dtype",
        "Data type",
        "uint8 grey levels, uint16 reflectance ×10000 or float32 reflectance",
        default="uint8",
        choices=("uint8", "uint16", "float32"),
    ),
    Option("bands", "--bands", "Bands", "1 panchromatic, 3 RGB, 4 RGB+NIR", int, default=3, choices=(1, 3, 4)),
    Option(
        "nodata_collar",
        "--nodata-collar",
        "Nodata collar (pixels)",
        "ragged nodata border about PX pixels wide",
        int,
        default=0,
        minimum=0,
        metavar="PX",
    ),
    Option("after_crs", "--after-crs", "After's CRS", "put AFTER on this CRS"),
    Option(
        "after_resolution",
        "--after-resolution",
        "After's resolution",
        "AFTER's pixel size, in AFTER's CRS units",
        float,
        minimum=0.0,
        open_range=True,
    ),
    Option(
        "after_shift",
        "--after-shift",
        "After's shift",
        "move AFTER's grid by DX east, DY north (CRS units)",
        float,
        metavar=("DX", "DY"),
        values=2,
    ),
)
