"""The embedded sample: the committed pair and its truth are the generator's, and the demo model
finds the changes in it (what ``make demo`` prints)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

import scd_core
from scd_core.geo.scoring import score_outputs
from scd_core.resources import DEMO_MODEL, RESOURCES
from scd_core.synth import write_geo_pair

SAMPLE = RESOURCES / "sample"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """``make demo-sample``'s command, run again."""
    return write_geo_pair(
        tmp_path_factory.mktemp("sample"), 1024, seed=2026, crs="EPSG:32633", resolution=0.5,
        after_resolution=0.6, nodata_collar=40, keep_scene=False,
    )  # fmt: skip


def test_the_committed_sample_and_its_truth_are_the_generators(regenerated):
    for name in ("before", "after", "label1", "label2"):
        with rasterio.open(SAMPLE / f"{name}.tif") as committed, rasterio.open(getattr(regenerated, name)) as fresh:
            assert committed.transform == fresh.transform and np.array_equal(committed.read(), fresh.read()), name


def test_the_demo_model_finds_the_samples_changes(tmp_path):
    result = scd_core.detect(SAMPLE / "before.tif", SAMPLE / "after.tif", DEMO_MODEL, tmp_path / "demo", device="cpu")
    score = score_outputs(result.out_dir, [SAMPLE / "label1.tif", SAMPLE / "label2.tif"])
    assert score.kind == "per-date" and score.binary["F1"] > 60
    assert score.from_to is not None and score.from_to["SeK"] > 10
