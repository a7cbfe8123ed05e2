"""An AOI whose CRS is assumed (a GeoJSON without one is EPSG:4326, a --bbox without one is BEFORE's)
is refused, saying how to state it, when its coordinates cannot be in that CRS or it misses the
rasters: such a run used to "succeed" with no pixel processed."""

from __future__ import annotations

import json

import geopandas
import pyogrio
import pytest
import rasterio
import shapely
from detect_testing import run_scd
from pyproj import Transformer

import scd_core
from scd_core.errors import InvalidAoiError, MissingCrsError, NoOverlapError
from scd_core.synth import write_geo_pair

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


def _geojson(path, ring, crs=None):
    document = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [ring]}}]}  # fmt: skip
    if crs is not None:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(document))
    return path


def _square(x, y, half):
    return [
        [x - half, y - half],
        [x + half, y - half],
        [x + half, y + half],
        [x - half, y + half],
        [x - half, y - half],
    ]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    pair = write_geo_pair(tmp_path_factory.mktemp("pair"), 128, seed=3, origin=(500000.0, 5800000.0))
    with rasterio.open(pair.before) as dataset:
        bounds, crs = dataset.bounds, dataset.crs.to_string()
    centre = ((bounds.left + bounds.right) / 2, (bounds.bottom + bounds.top) / 2)
    return pair, crs, centre


def test_a_geojson_in_the_rasters_metres_without_a_crs_is_refused_with_exit_2(pair, tmp_path):
    pair, crs, (x, y) = pair
    aoi = _geojson(tmp_path / "metres.geojson", _square(x, y, 20))
    out = tmp_path / "out"
    result = run_scd("detect", pair.before, pair.after, "-o", out, "--aoi", aoi, "--progress", "none")
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert str(aoi) in error and "EPSG:4326" in error and f"ogr2ogr -a_srs {crs}" in error
    assert "Traceback" not in result.stderr and not out.exists()


def test_a_geojson_in_degrees_elsewhere_without_a_crs_is_refused_saying_its_crs_is_assumed(pair, tmp_path, ckpt):
    pair, _, _ = pair
    aoi = _geojson(tmp_path / "elsewhere.geojson", _square(2.35, 48.85, 0.01))  # Paris; the pair is near 15°E
    with pytest.raises(NoOverlapError, match=r"does not overlap.*GeoJSON without a CRS is read as EPSG:4326"):
        scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "out", aoi=aoi, **FAST)


def test_a_geojson_whose_stated_crs_cannot_hold_its_coordinates_is_refused(pair, tmp_path, ckpt):
    pair, _, (x, y) = pair
    aoi = _geojson(tmp_path / "stated.geojson", _square(x, y, 20), crs="urn:ogc:def:crs:OGC:1.3:CRS84")
    with pytest.raises(InvalidAoiError, match=r"cannot be longitude, latitude.*its CRS is wrong"):
        scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "out", aoi=aoi, **FAST)


def test_a_geojson_stating_the_rasters_crs_and_one_in_degrees_both_run(pair, tmp_path, ckpt):
    pair, crs, (x, y) = pair
    stated = _geojson(tmp_path / "stated.geojson", _square(x, y, 20), crs=crs)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    degrees = _geojson(tmp_path / "degrees.geojson", _square(lon, lat, 0.0002))
    for aoi in (stated, degrees):
        result = scd_core.detect(pair.before, pair.after, ckpt, tmp_path / aoi.stem, aoi=aoi, **FAST)
        with rasterio.open(result.outputs["change_type"]) as dataset:
            assert 0 < dataset.width < 128 and 0 < dataset.height < 128


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_a_vector_file_without_any_crs_is_told_how_to_set_one(pair, tmp_path, ckpt):
    pair, crs, (x, y) = pair
    aoi = tmp_path / "no_prj.shp"
    pyogrio.write_dataframe(geopandas.GeoDataFrame(geometry=[shapely.Polygon(_square(x, y, 20))], crs=None), aoi)
    with pytest.raises(MissingCrsError, match=f"ogr2ogr -a_srs {crs}"):
        scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "out", aoi=aoi, **FAST)


def test_a_bbox_without_a_crs_in_degrees_is_refused_saying_it_is_in_befores_crs(pair, tmp_path, ckpt):
    pair, crs, _ = pair
    with pytest.raises(NoOverlapError, match=f"without a CRS is in BEFORE's \\({crs}\\).*,EPSG:4326"):
        scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "out", bbox="15.0,52.3,15.01,52.31", **FAST)


def test_on_a_raster_in_degrees_the_advice_names_no_crs_it_would_refuse_again(tmp_path, ckpt):
    pair = write_geo_pair(tmp_path / "pair", 128, seed=3, crs="EPSG:4326")
    aoi = _geojson(tmp_path / "metres.geojson", _square(500000, 5800000, 20))
    with pytest.raises(InvalidAoiError, match="ogr2ogr -a_srs EPSG:xxxx") as refusal:
        scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "out", aoi=aoi, **FAST)
    assert "-a_srs EPSG:4326" not in str(refusal.value)
