"""The intervals mean what they say: on the demo run, with each point labelled from the sample's truth
(the change its label rasters show), every class's 95 % interval contains its true area in at least
85 % of 50 samples drawn with different seeds."""

from __future__ import annotations

import json

import geopandas
import numpy as np
import pyogrio
import pytest
import rasterio
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from scd_core.accounting.strata import row_areas
from scd_core.cli import main
from scd_core.resources import DEMO_MODEL, RESOURCES

SAMPLE = RESOURCES / "sample"
SEEDS = 50


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "run"
    pair = [str(SAMPLE / "before.tif"), str(SAMPLE / "after.tif")]
    assert main(["detect", *pair, "--model", str(DEMO_MODEL), "-o", str(out), "--progress", "none"]) == 0
    return out


def truth_on_map(run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The truth's change (label1 > 0), the map's valid pixels and each row's pixel area, on the map's grid."""
    with rasterio.open(run / "change_type.tif") as grid, rasterio.open(SAMPLE / "label1.tif") as truth:
        crs, transform, size = grid.crs, grid.transform, (grid.width, grid.height)
        valid, areas = grid.read(1) != 255, row_areas(grid)
        with WarpedVRT(
            truth, crs=crs, transform=transform, width=size[0], height=size[1], resampling=Resampling.nearest
        ) as vrt:
            label = vrt.read(1)
    return (label > 0) & (label != 255), valid & (label != 255), areas


def test_every_classes_interval_covers_its_true_area_in_at_least_85_percent_of_samples(demo_run, tmp_path, capsys):
    changed, valid, areas = truth_on_map(demo_run)
    per_pixel = np.broadcast_to(areas[:, None], changed.shape)
    true_ha = {"change": per_pixel[changed & valid].sum() / 1e4, "no change": per_pixel[~changed & valid].sum() / 1e4}
    with rasterio.open(SAMPLE / "label1.tif") as truth:
        covered = dict.fromkeys(true_ha, 0)
        for seed in range(SEEDS):
            path = tmp_path / f"s{seed}.gpkg"
            options = ["--strata", "change", "--n", "200", "--seed", str(seed)]
            assert main(["sample", str(demo_run), "-o", str(path), *options]) == 0
            points = geopandas.read_file(path, layer="points")
            labels = np.array([v[0] for v in truth.sample(zip(points.x, points.y, strict=True))])
            points["ref_class"] = np.where((labels > 0) & (labels != 255), "change", "no change")
            points = points[labels != 255]  # the truth's nodata: no reference there
            points.to_file(path, layer="points")
            capsys.readouterr()
            assert main(["assess", str(path), "--json"]) == 0
            estimates = json.loads(capsys.readouterr().out)["area_ha"]
            for name, area in true_ha.items():
                covered[name] += abs(estimates[name]["estimate"] - area) <= estimates[name]["ci95"]
    assert all(count >= 0.85 * SEEDS for count in covered.values()), covered
    assert pyogrio.list_layers(path).tolist()[0][0] == "points"
