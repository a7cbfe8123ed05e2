"""The options of the accounting commands: ``scd sample``, ``scd assess`` and ``scd zones``."""

from __future__ import annotations

from .option import OVERWRITE_FILE, Option

_EXPECTED = "conjectured user's accuracy, for Cochran's size, of "


def _share(name: str, flag: str, label: str, help: str, default: float) -> Option:
    """An option that is a share strictly between 0 and 1."""
    return Option(name, flag, label, help, float, default=default, minimum=0.0, maximum=1.0, open_range=True)


#: ``scd sample``'s options: the design of Olofsson et al. (2014) (``scd_core.accounting.design``).
SAMPLE = (
    Option("n", "--n", "Sample size", "points in all (default: Cochran's formula for --target-se)", int, minimum=1),
    Option(
        "allocation",
        "--allocation",
        "Allocation",
        "points per stratum (olofsson: a minimum per rare stratum, the rest proportional)",
        default="olofsson",
        choices=("proportional", "equal", "neyman", "olofsson"),
    ),
    Option("min_per_stratum", "--min-per-stratum", "Rare strata's points", "olofsson", int, default=50, minimum=1),
    Option(
        "strata",
        "--strata",
        "Strata",
        "change-types (each one mapped, and no change), change (change / no change), or a YAML file grouping "
        "change types",
        default="change-types",
        metavar="change-types|change|FILE.yaml",
    ),
    _share("target_se", "--target-se", "Target standard error", "of overall accuracy, for Cochran's size", 0.01),
    _share("users_change", "--expected-change-accuracy", "Expected accuracy of change", _EXPECTED + "change", 0.7),
    _share("users_stable", "--expected-stable-accuracy", "Expected accuracy of no change", _EXPECTED + "stable", 0.9),
    Option("seed", "--seed", "Seed", "seed of the draw (the same seed, the same points)", int, default=0),
    OVERWRITE_FILE,
)

#: ``scd assess``'s options (``scd_core.accounting.assessment``).
ASSESS = (
    Option("ref_field", "--ref-field", "Reference field", "the points' reference class", default="ref_class"),
    Option("map_field", "--map-field", "Map field", "the points' map class (default: their stratum)"),
    Option("strata_areas", "--strata-areas", "Strata areas", "CSV: stratum,area_ha or stratum,pixels,pixel_area_ha"),
    Option(
        "drop_unlabelled", "--drop-unlabelled", "Drop unlabelled", "leave out unlabelled points", bool, default=False
    ),
    OVERWRITE_FILE,
)

#: ``scd zones``' options (``scd_core.accounting.zones``).
ZONES = (
    Option("field", "--field", "Zone field", "the zones' name field"),
    OVERWRITE_FILE,
)
