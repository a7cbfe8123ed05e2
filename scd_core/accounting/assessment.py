"""``scd assess``: a labelled sample (``scd sample``'s GeoPackage) as accuracies and areas with 95 % CIs.

The map classes of the error matrix are the sample's strata (``strata`` layer), as Olofsson et al.
(2014) stratify by map class; their mapped pixels and geodesic areas give ``W_i`` and ``A``. Each point's
reference (``--ref-field``, ``ref_class`` by default) names a stratum, or a change-type code or name
that one of them holds (``codes`` of the strata layer); its map class is its stratum (or
``--map-field``, read the same way). A sample drawn elsewhere gives the strata's areas with
``--strata-areas FILE.csv``: ``stratum,area_ha``, or ``stratum,pixels,pixel_area_ha``.

A point without a reference is an error naming how many there are, unless ``--drop-unlabelled``: a
silently dropped point would bias the estimates toward what was easy to label. A reference that is no
class of the table is an error naming it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas
import pyogrio

from scd_core.accounting.estimators import Assessment, assess
from scd_core.errors import InvalidOptionError, ScdInputError


@dataclass(frozen=True)
class Table:
    """The sample's classes (its strata) and how a label names one of them."""

    names: list[str]
    lookup: dict[str, int]  #: a stratum's name, a change-type code or name → its index


def _read(path: Path, layer: str) -> pandas.DataFrame:
    try:
        return pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
    except Exception as error:  # pyogrio raises its own types for every kind of unreadable file
        raise ScdInputError(f"no {layer} layer of scd sample ({error})", path) from None


def class_table(strata: pandas.DataFrame, points: pandas.DataFrame) -> Table:
    """The strata as classes, each named by itself, by its change-type codes and their names."""
    names = [str(n) for n in strata["stratum"]]
    lookup: dict[str, int] = {name: index for index, name in enumerate(names)}
    for index, codes in enumerate(strata["codes"]):
        for code in str(codes).split(","):
            if code:
                lookup.setdefault(code, index)
    for code, name, stratum in zip(points["map_class"], points["map_class_name"], points["stratum"], strict=True):
        lookup.setdefault(str(name), names.index(str(stratum)))
        lookup.setdefault(str(code), names.index(str(stratum)))
    return Table(names, lookup)


def _classes(values: pandas.Series, table: Table, field: str, path: Path) -> np.ndarray:
    indices = []
    for value in values:
        key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()
        if key not in table.lookup:
            raise ScdInputError(
                f"field {field!r} holds {key!r}, which is no class of the sample ({', '.join(table.names)})", path
            )
        indices.append(table.lookup[key])
    return np.array(indices, dtype=np.int64)


def _areas(path: str | Path, names: list[str]) -> tuple[np.ndarray, float]:
    """Each stratum's mapped area (ha) from ``--strata-areas``, as pixel-like counts and their area."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = {row["stratum"].strip(): row for row in csv.DictReader(handle)}
    if missing := [n for n in names if n not in rows]:
        raise InvalidOptionError(f"--strata-areas: no row for {missing}", path)
    try:
        hectares = [
            float(rows[n]["area_ha"])
            if rows[n].get("area_ha")
            else float(rows[n]["pixels"]) * float(rows[n]["pixel_area_ha"])
            for n in names
        ]
    except (KeyError, ValueError):
        raise InvalidOptionError(
            "--strata-areas: columns stratum,area_ha or stratum,pixels,pixel_area_ha", path
        ) from None
    return np.array(hectares), 1.0


def assess_sample(
    points_path: str | Path,
    ref_field: str = "ref_class",
    map_field: str | None = None,
    strata_areas: str | Path | None = None,
    drop_unlabelled: bool = False,
) -> dict[str, Any]:
    """The estimates of the labelled sample at ``points_path`` as plain data (see the module docstring)."""
    path = Path(points_path)
    points, strata = _read(path, "points"), _read(path, "strata")
    for field in (ref_field, map_field or "stratum"):
        if field not in points.columns:
            raise ScdInputError(f"the points have no field {field!r} (their fields: {', '.join(points.columns)})", path)
    table = class_table(strata, points)
    empty = points[ref_field].isna() | (points[ref_field].astype(str).str.strip() == "")
    if empty.any() and not drop_unlabelled:
        raise ScdInputError(
            f"{int(empty.sum())} of {len(points)} points have no {ref_field}: label them, or --drop-unlabelled", path
        )
    points = points[~empty]
    mapped = _classes(points[map_field or "stratum"], table, map_field or "stratum", path)
    reference = _classes(points[ref_field], table, ref_field, path)
    k = len(table.names)
    counts = np.bincount(mapped * k + reference, minlength=k * k).reshape(k, k)
    if strata_areas is not None:
        pixels, pixel_area = _areas(strata_areas, table.names)
    else:
        pixels = strata["pixels"].to_numpy(dtype=np.float64)
        pixel_area = float(strata["area_ha"].sum() / max(pixels.sum(), 1))  # mean geodesic pixel area
        pixels = strata["area_ha"].to_numpy(dtype=np.float64) / pixel_area  # areas exactly as measured
    result = assess(counts, pixels, pixel_area)
    return report(table.names, counts, result, int(empty.sum()))


def report(names: list[str], counts: np.ndarray, result: Assessment, dropped: int) -> dict[str, Any]:
    """The estimates by class, in hectares and proportions, as ``--json`` prints them."""
    classes = [
        {
            "class": name,
            "mapped_ha": float(result.mapped_area[i]),
            "area_ha": float(result.area[i]),
            "area_ci_ha": float(result.area_ci[i]),
            "users_accuracy": float(result.users[i]),
            "users_ci": float(result.users_ci[i]),
            "producers_accuracy": float(result.producers[i]),
            "producers_ci": float(result.producers_ci[i]),
            "points": int(counts[i].sum()),
        }
        for i, name in enumerate(names)
    ]
    return {
        "overall_accuracy": result.overall,
        "overall_ci": result.overall_ci,
        "classes": classes,
        "sample_counts": counts.tolist(),
        "area_proportions": result.proportions.tolist(),
        "dropped_unlabelled": dropped,
        "strata_without_variance": [names[i] for i in result.strata_without_variance],
    }


def text(estimates: dict[str, Any]) -> str:
    """The estimates as the terminal shows them."""
    lines = [f"overall accuracy {estimates['overall_accuracy']:.3f} ± {estimates['overall_ci']:.3f} (95 %)"]
    if estimates["dropped_unlabelled"]:
        lines.append(f"{estimates['dropped_unlabelled']} unlabelled points left out (--drop-unlabelled)")
    lines.append("class: mapped ha | estimated ha ± 95 % | user's ± | producer's ± | points")
    for c in estimates["classes"]:
        area = f"{c['area_ha']:.2f} ± {c['area_ci_ha']:.2f}"
        users = f"{c['users_accuracy']:.3f} ± {c['users_ci']:.3f}"
        producers = f"{c['producers_accuracy']:.3f} ± {c['producers_ci']:.3f}"
        lines.append(f"{c['class']}: {c['mapped_ha']:.2f} | {area} | {users} | {producers} | {c['points']}")
    return "\n".join(lines)
