"""A model knows objects at the size in pixels it saw them: checkpoints record their training imagery's
metres per pixel (``gsd_m``), and a run on pixels more than 4× larger or smaller says so."""

from __future__ import annotations

import json

import pytest
from detect_testing import REPO, tiny_checkpoint
from rasterio.transform import from_origin

import scd_core
from scd_core import checkpoint
from scd_core.errors import InvalidOptionError
from scd_core.geo.grid import Grid
from scd_core.geo.inputs import ground_pixel_size
from scd_core.resources import DEMO_MODEL
from scd_core.synth import write_geo_pair
from scd_core.trainer import config as configs

WARNING = "BEFORE's pixels are"


def test_ground_pixel_size_is_metres_in_any_crs():
    utm = Grid("EPSG:32633", from_origin(500000, 5000000, 10, 10), 100, 100)
    assert ground_pixel_size(utm) == pytest.approx(10, rel=0.01)
    # 0.0001° at 45° N: about 7.9 m across and 11.1 m down
    degrees = Grid("EPSG:4326", from_origin(10.0, 45.005, 0.0001, 0.0001), 100, 100)
    assert ground_pixel_size(degrees) == pytest.approx((7.88 * 11.11) ** 0.5, rel=0.01)
    # Web Mercator's metres are stretched by 1/cos(latitude): 10 "metres" at 60° N are 5 on the ground
    mercator = Grid("EPSG:3857", from_origin(1113195, 8399737 + 500, 10, 10), 100, 100)
    assert ground_pixel_size(mercator) == pytest.approx(5, rel=0.02)


@pytest.fixture(scope="module")
def ten_metre_pair(tmp_path_factory):
    """Sentinel-2's pixels: 10 m."""
    return write_geo_pair(tmp_path_factory.mktemp("s2"), 128, seed=3, resolution=10.0)


@pytest.mark.parametrize(
    ("gsd", "warned"),
    [(0.5, "20× smaller in pixels"), (10, None), ([0.5, 3.0], None), (200, "20× larger in pixels")],
)
def test_a_run_warns_when_its_pixels_are_far_from_the_models(ten_metre_pair, tmp_path, gsd, warned):
    model = tiny_checkpoint(tmp_path / "m.ckpt", gsd_m=gsd)
    events: list[dict] = []
    result = scd_core.detect(
        ten_metre_pair.before, ten_metre_pair.after, model, tmp_path / "out", progress=events.append, tile=128
    )
    warnings = [e["text"] for e in events if e["event"] == "warning" and WARNING in e["text"]]
    record = json.loads(result.outputs["run"].read_text())
    assert record["model"]["gsd_m"] == gsd
    if warned is None:
        assert warnings == []
        return
    (warning,) = warnings
    assert warned in warning and "BEFORE's pixels are 10 m on the ground" in warning
    assert warning in record["messages"]


def test_a_checkpoint_without_gsd_warns_of_nothing(ten_metre_pair, tmp_path, ckpt):
    events: list[dict] = []
    scd_core.detect(ten_metre_pair.before, ten_metre_pair.after, ckpt, tmp_path / "out", progress=events.append,
                    tile=128)  # fmt: skip
    assert not [e for e in events if WARNING in e.get("text", "")]


@pytest.mark.parametrize("gsd", ["0.5", -1, [0, 3], [1, 2, 3], True])
def test_a_gsd_that_is_no_metres_per_pixel_is_refused(tmp_path, gsd):
    with pytest.raises(ValueError, match="gsd_m"):
        tiny_checkpoint(tmp_path / "m.ckpt", gsd_m=gsd)
    with pytest.raises(InvalidOptionError, match="gsd_m"):
        configs.from_dict({"model": "fc_ef", "gsd_m": gsd})


def test_the_demo_model_and_the_recipes_record_their_imagerys_pixels():
    assert checkpoint.load(DEMO_MODEL)[1]["gsd_m"] == 0.5
    recipes = REPO / "training" / "configs"
    assert configs.load(recipes / "second_asn.yaml").gsd_m == [0.5, 3.0]
    assert configs.load(recipes / "landsat_lsafnet.yaml").gsd_m == 30
