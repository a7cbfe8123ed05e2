"""``scd sample``: a stratified random sample of a run's change map, for an interpreter to label.

The map (``change_type.tif`` of a run folder) is read twice in strips: once to count each stratum's
pixels and area (:mod:`.strata`), once to find the pixels the sample drew. Each stratum's points are
distinct pixels drawn uniformly among its own (a rank among the stratum's pixels, in reading order, by
a generator of ``--seed``), so the same map, design and seed give the same points.

The GeoPackage holds three layers, so that ``scd assess`` needs nothing else:

``points``
    one point per sampled pixel at its centre, in the map's CRS: ``id``, ``stratum`` (name),
    ``stratum_id``, ``map_class`` (the change-type code) and ``map_class_name``, ``x``, ``y``, and an
    empty ``ref_class`` for the interpreter (a change-type code or name, as the map names them);
``strata``
    each stratum's name, id, mapped pixels, geodesic area in hectares, points and change-type codes;
``design``
    key/value: the map, its CRS, the allocation, the total size and how it was set, the target
    standard error and conjectured accuracies, the minimum per stratum and the seed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas
import numpy as np
import pandas
import rasterio
import shapely

from scd_core.accounting.design import allocate, cochran_size
from scd_core.accounting.strata import Strata, code_names, row_areas, strata_of, strips
from scd_core.atomic import atomic_output_path
from scd_core.errors import OutputExistsError, ScdInputError
from scd_core.geopackage import GEOPACKAGE_OPTIONS

MAP = "change_type.tif"


@dataclass(frozen=True)
class Design:
    """What ``scd sample`` was asked for (the ``design`` layer keeps it)."""

    allocation: str = "olofsson"
    size: int | None = None  #: ``--n``; None: Cochran's formula
    target_se: float = 0.01
    users_change: float = 0.7  #: conjectured user's accuracy of the change strata
    users_stable: float = 0.9  #: of no change
    min_per_stratum: int = 50
    strata: str = "change-types"
    seed: int = 0


def _count(dataset: rasterio.DatasetReader, strata: Strata) -> tuple[np.ndarray, np.ndarray]:
    """Pixels and m² of each stratum."""
    areas = row_areas(dataset)
    pixels, square_metres = np.zeros(len(strata.names), np.int64), np.zeros(len(strata.names))
    for window in strips(dataset.height, dataset.width):
        ids = strata.of_code[dataset.read(1, window=window)]
        rows = np.broadcast_to(areas[window.row_off : window.row_off + window.height, None], ids.shape)
        inside = ids >= 0
        pixels += np.bincount(ids[inside], minlength=len(strata.names))
        square_metres += np.bincount(ids[inside], weights=rows[inside], minlength=len(strata.names))
    return pixels, square_metres


def _draw(
    dataset: rasterio.DatasetReader, strata: Strata, counts: np.ndarray, pixels: np.ndarray, seed: int
) -> list[tuple[int, int, int, int]]:
    """(row, col, stratum, code) of each drawn pixel."""
    rng = np.random.default_rng(seed)
    ranks = [
        np.sort(rng.choice(int(p), int(n), replace=False)) if n else np.zeros(0, np.int64)
        for p, n in zip(pixels, counts, strict=True)
    ]
    seen = np.zeros(len(strata.names), np.int64)
    drawn = []
    for window in strips(dataset.height, dataset.width):
        codes = dataset.read(1, window=window)
        ids = strata.of_code[codes]
        for stratum in range(len(strata.names)):
            where = np.flatnonzero(ids == stratum)
            wanted = ranks[stratum][(ranks[stratum] >= seen[stratum]) & (ranks[stratum] < seen[stratum] + len(where))]
            for flat in where[wanted - seen[stratum]]:
                row, col = divmod(int(flat), window.width)
                drawn.append((window.row_off + row, col, stratum, int(codes.flat[flat])))
            seen[stratum] += len(where)
    return drawn


def draw_sample(out_dir: str | Path, points: str | Path, design: Design, overwrite: bool = False) -> dict:
    """Write the sample of the run in ``out_dir`` to the GeoPackage ``points``; returns its summary."""
    path = Path(out_dir) / MAP
    if not path.is_file():
        raise ScdInputError(f"no {MAP}: give the output folder of scd detect", out_dir)
    points = Path(points)
    if points.exists() and not overwrite:
        raise OutputExistsError("exists: choose another file or --overwrite", points)
    with rasterio.open(path) as dataset:
        names = code_names(dataset, path)
        present = np.flatnonzero(
            np.bincount(
                np.concatenate([dataset.read(1, window=w).ravel() for w in strips(dataset.height, dataset.width)]),
                minlength=256,
            )
        )
        strata = strata_of(present, names, design.strata)
        pixels, square_metres = _count(dataset, strata)
        keep = pixels > 0
        weights = pixels / pixels.sum()
        users = np.array([design.users_stable if name == "no change" else design.users_change for name in strata.names])
        total = design.size or cochran_size(weights[keep], users[keep], design.target_se)
        counts = allocate(total, weights, users, design.allocation, design.min_per_stratum, pixels)
        drawn = _draw(dataset, strata, counts, pixels, design.seed)
        crs, transform = dataset.crs, dataset.transform
    rows = [
        {
            "id": number,
            "stratum": strata.names[stratum],
            "stratum_id": stratum,
            "map_class": code,
            "map_class_name": names.get(code, f"code {code}"),
            "ref_class": None,
            "x": (transform @ (col + 0.5, row + 0.5))[0],
            "y": (transform @ (col + 0.5, row + 0.5))[1],
        }
        for number, (row, col, stratum, code) in enumerate(drawn, 1)
    ]
    frame = geopandas.GeoDataFrame(rows, geometry=[shapely.Point(r["x"], r["y"]) for r in rows], crs=crs)
    frame["ref_class"] = frame["ref_class"].astype("string")
    table = pandas.DataFrame(
        {
            "stratum": strata.names,
            "stratum_id": range(len(strata.names)),
            "pixels": pixels,
            "area_ha": square_metres / 10_000,
            "points": counts,
            "codes": [",".join(str(c) for c in np.flatnonzero(strata.of_code == s)) for s in range(len(strata.names))],
        }
    )
    settings = {
        **asdict(design),
        "map": str(path.resolve()),
        "crs": crs.to_string(),
        "size": int(total),
        "size_from": "--n" if design.size else "cochran",
    }
    layers = {"design": pandas.DataFrame({"key": list(settings), "value": [json.dumps(v) for v in settings.values()]})}
    with atomic_output_path(points) as staged:
        frame.to_file(staged, layer="points", driver="GPKG", dataset_options=GEOPACKAGE_OPTIONS)
        for name, attributes in (("strata", table), *layers.items()):
            geopandas.GeoDataFrame(attributes).to_file(staged, layer=name, driver="GPKG")
    return {
        "points": len(rows),
        "strata": table.to_dict("records"),
        "size": int(total),
        "allocation": design.allocation,
    }
