"""A checkpoint of any class count from 1 to 15 runs end to end; more are refused with a clear message."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyogrio
import pytest
import rasterio
import torch
from detect_testing import run_scd

from scd_core import checkpoint
from scd_core.models import build

LANDSAT_SCD = ["no change", "farmland", "desert", "building", "water"]


@pytest.fixture(scope="module")
def four_classes(tmp_path_factory):
    torch.manual_seed(0)
    classes = [
        {"index": i, "name": name, "colour": colour}
        for i, (name, colour) in enumerate(
            zip(LANDSAT_SCD, [[255, 255, 255], [0, 155, 0], [255, 165, 0], [230, 30, 100], [0, 170, 240]], strict=True)
        )
    ]
    path = tmp_path_factory.mktemp("four") / "four.pt"
    # a low threshold, so that an untrained model marks changes of every kind
    return checkpoint.save(build("fc_ef", num_classes=4, width=4), path, classes=classes, tile_size=128, threshold=0.2)


def test_a_four_class_model_maps_its_own_classes_and_change_types(tmp_path, collared, four_classes):
    out = tmp_path / "out"
    done = run_scd("detect", collared.before, collared.after, "-o", out, "--model", four_classes, "--progress", "none")
    assert done.returncode == 0, done.stderr
    with rasterio.open(out / "change_type.tif") as dataset:
        codes = dataset.read(1).astype(int)
        names = json.loads(dataset.tags()["scd_class_names"])
        colours = dataset.colormap(1)
    with rasterio.open(out / "before_class.tif") as b, rasterio.open(out / "after_class.tif") as a:
        before, after = b.read(1).astype(int), a.read(1).astype(int)
    changed = (codes != 255) & (codes != 0)
    assert changed.any() and before[changed].max() <= 4 and after[changed].max() <= 4
    assert np.array_equal(codes[changed], 1 + 4 * (before[changed] - 1) + (after[changed] - 1))
    # codes 1 + 4·(c1-1) + (c2-1): farmland (1) → building (3) is 3, desert (2) → desert (2) is 6
    assert len(names) == 17 and names["3"] == "farmland → building" and names["6"] == "desert → desert"
    assert set(range(17)) <= set(colours)
    with open(out / "summary.csv", newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[: len(LANDSAT_SCD) + 1] == ["from \\ to (ha)", *LANDSAT_SCD[1:], "total"]  # then gains, losses
    frame = pyogrio.read_dataframe(out / "changes.gpkg")
    assert set(frame["from_name"]) <= set(LANDSAT_SCD[1:]) and frame["change_type"].max() <= 16
    run = json.loads((out / "run.json").read_text())
    assert set(run["counts"]["pixels_by_change_type"]) <= set(names.values())


def test_more_classes_than_a_byte_of_codes_holds_are_refused(tmp_path):
    with pytest.raises(ValueError, match="1 to 15"):
        checkpoint.save(build("fc_ef", num_classes=16, width=4), tmp_path / "sixteen.pt", tile_size=128)
