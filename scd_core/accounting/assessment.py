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
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas
import pyogrio

from scd_core.accounting.estimators import Assessment, assess
from scd_core.atomic import atomic_output_path
from scd_core.errors import InvalidOptionError, OutputExistsError, ScdInputError

#: Where a run folder keeps the estimates of its assessed sample.
ASSESSMENT = "assessment.json"
#: The columns of ``-o FILE.csv``: a row per class (accuracies as shares, areas in hectares).
CSV_COLUMNS = (
    "class", "points", "mapped_area_ha", "area_ha", "area_ci95_ha",
    "users_accuracy", "users_ci95", "producers_accuracy", "producers_ci95",
)  # fmt: skip


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
    if few := [table.names[i] for i in range(k) if counts[i].sum() < 2 and pixels[i] > 0]:
        raise ScdInputError(
            f"strata {few} have fewer than 2 labelled points: their variance cannot be estimated (label more)", path
        )
    result = assess(counts, pixels, pixel_area)
    return report(table.names, counts, result, int(empty.sum()))


def report(names: list[str], counts: np.ndarray, result: Assessment, dropped: int) -> dict[str, Any]:
    """The estimates by class, as ``--json`` prints them: each ``{"estimate", "ci95"}`` (accuracies as
    shares, areas in hectares), the mapped areas, and the error matrix in area proportions."""

    def by_class(estimates: np.ndarray, intervals: np.ndarray) -> dict[str, dict[str, float]]:
        return {
            n: {"estimate": float(e), "ci95": float(c)} for n, e, c in zip(names, estimates, intervals, strict=True)
        }

    return {
        "overall_accuracy": {"estimate": result.overall, "ci95": result.overall_ci},
        "users_accuracy": by_class(result.users, result.users_ci),
        "producers_accuracy": by_class(result.producers, result.producers_ci),
        "area_ha": by_class(result.area, result.area_ci),
        "mapped_area_ha": {n: float(a) for n, a in zip(names, result.mapped_area, strict=True)},
        "error_matrix": result.proportions.tolist(),
        "classes": names,
        "sample_counts": counts.tolist(),
        "dropped_unlabelled": dropped,
    }


def text(estimates: dict[str, Any]) -> str:
    """The estimates as the terminal shows them."""
    overall = estimates["overall_accuracy"]
    lines = [f"overall accuracy {overall['estimate']:.3f} ± {overall['ci95']:.3f} (95 %)"]
    if estimates["dropped_unlabelled"]:
        lines.append(f"{estimates['dropped_unlabelled']} unlabelled points left out (--drop-unlabelled)")
    lines.append("class: mapped ha | estimated ha ± 95 % | user's ± | producer's ± | points")
    for name, counts in zip(estimates["classes"], estimates["sample_counts"], strict=True):
        area, users, producers = (estimates[k][name] for k in ("area_ha", "users_accuracy", "producers_accuracy"))
        lines.append(
            f"{name}: {estimates['mapped_area_ha'][name]:.2f} | {area['estimate']:.2f} ± {area['ci95']:.2f} | "
            f"{users['estimate']:.3f} ± {users['ci95']:.3f} | {producers['estimate']:.3f} ± {producers['ci95']:.3f}"
            f" | {sum(counts)}"
        )
    return "\n".join(lines)


def sampled_run(points_path: str | Path) -> Path | None:
    """The run folder the sample was drawn from, where its ``design`` layer names one that still exists."""
    try:
        design = pyogrio.read_dataframe(points_path, layer="design", read_geometry=False)
    except Exception:  # a sample drawn elsewhere has no design layer
        return None
    settings = dict(zip(design["key"], design["value"], strict=True))
    folder = Path(json.loads(settings["map"])).parent if "map" in settings else None
    return folder if folder is not None and folder.is_dir() else None


def estimates_output(points_path: str | Path, output: str | Path | None, overwrite: bool) -> Path | None:
    """Where the estimates go: ``output`` (checked before any work), else the sampled run's
    :data:`ASSESSMENT` unless an earlier one is there without ``overwrite`` (None: printed only)."""
    if output is not None:
        path = Path(output)
        if path.suffix.lower() not in (".json", ".csv"):
            raise InvalidOptionError("-o takes FILE.json or FILE.csv", path)
        if path.exists() and not overwrite:
            raise OutputExistsError("exists: choose another file or --overwrite", path)
        return path
    folder = sampled_run(points_path)
    if folder is None:
        return None
    if (folder / ASSESSMENT).exists() and not overwrite:
        print(f"{folder / ASSESSMENT} kept (--overwrite replaces it)", file=sys.stderr)
        return None
    return folder / ASSESSMENT


def write_estimates(estimates: dict[str, Any], path: Path) -> None:
    """``estimates`` as JSON (as ``--json`` prints them) or as a CSV row per class, written whole."""
    with atomic_output_path(path) as staged:
        if path.suffix.lower() == ".json":
            staged.write_text(json.dumps(estimates, indent=1), encoding="utf-8")
            return
        with open(staged, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for name, counts in zip(estimates["classes"], estimates["sample_counts"], strict=True):
                area, users, producers = (
                    estimates[k][name] for k in ("area_ha", "users_accuracy", "producers_accuracy")
                )
                writer.writerow([
                    name, sum(counts), estimates["mapped_area_ha"][name], area["estimate"], area["ci95"],
                    users["estimate"], users["ci95"], producers["estimate"], producers["ci95"],
                ])  # fmt: skip
