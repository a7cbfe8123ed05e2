"""A synthetic georeferenced pair (4 bands of uint16 reflectance, a nodata collar) and its labels in
every form PAIRS.csv takes, made once per session; and a helper that runs ``scd train``."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.features import shapes

from scd_core.cli import main
from scd_core.labels import SECOND

#: SECOND's six classes, code 1 first, as a --classes file lists them.
CLASSES_YAML = "\n".join(f"- {{name: {c.name}, colour: {list(c.rgb)}}}" for c in SECOND.classes[1:]) + "\n"
#: A quick recipe: small chips, few of them, no pretrained weights (the encoders' own tests load those).
QUICK = ["--epochs", "1", "--chips", "8", "--chip-size", "64", "--batch-size", "4", "--encoder-weights", "none"]


def polygons(path: Path, fields: dict[str, np.ndarray], mask: np.ndarray, out: Path) -> Path:
    """The regions of ``mask`` in the grid of raster ``path`` as polygons, with ``fields`` read at each."""
    with rasterio.open(path) as dataset:
        transform, crs = dataset.transform, dataset.crs
    rows = []
    keys = np.zeros(mask.shape, np.int32)
    for values in fields.values():
        keys = keys * 16 + values.astype(np.int32)
    for geometry, key in shapes(keys, mask=mask, transform=transform):
        row = {"geometry": shapely.geometry.shape(geometry)}
        for name in reversed(fields):
            row[name], key = int(key) % 16, int(key) // 16
        rows.append(row)
    geopandas.GeoDataFrame(rows, crs=crs).to_crs("EPSG:4326").to_file(out)
    return out


@pytest.fixture(scope="session")
def scene(tmp_path_factory) -> Path:
    """``scd synth geo`` at 192², with the labels of every form beside it."""
    folder = tmp_path_factory.mktemp("own") / "pair"
    args = ["synth", "geo", str(folder), "--size", "192", "--seed", "11", "--bands", "4", "--dtype", "uint16"]
    assert main([*args, "--nodata-collar", "10"]) == 0
    with rasterio.open(folder / "label1.tif") as one, rasterio.open(folder / "label2.tif") as two:
        first, second, profile = one.read(1), two.read(1), one.profile
    changed = (first != 0) & (first != 255)
    binary = np.where(first == 255, 255, changed.astype(np.uint8))
    with rasterio.open(folder / "change.tif", "w", **{**profile, "nodata": 255}) as out:
        out.write(binary, 1)
    polygons(folder / "label1.tif", {"from_class": first, "to_class": second}, changed, folder / "fromto.gpkg")
    polygons(folder / "label1.tif", {"changed": changed.astype(np.uint8)}, first != 255, folder / "change.geojson")
    polygons(folder / "label1.tif", {"cover": np.where(changed, first, 3)}, first != 255, folder / "cover1.gpkg")
    polygons(folder / "label1.tif", {"cover": np.where(changed, second, 3)}, first != 255, folder / "cover2.gpkg")
    (folder / "classes.yaml").write_text(CLASSES_YAML, encoding="utf-8")
    return folder


def write_pairs(path: Path, rows: list[dict[str, str]]) -> Path:
    """A PAIRS.csv of ``rows`` (their keys are the columns)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def pair_row(scene: Path, id: str = "a", **labels: str) -> dict[str, str]:
    """A PAIRS.csv row of the scene's pair with ``labels`` (column: file name in the scene's folder)."""
    return {
        "id": id,
        "before": str(scene / "before.tif"),
        "after": str(scene / "after.tif"),
        **{key: str(scene / name) for key, name in labels.items()},
    }
