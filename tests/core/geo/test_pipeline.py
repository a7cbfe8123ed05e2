"""``scd_core.detect`` end to end, on synthetic georeferenced pairs."""

from __future__ import annotations

import csv
import json
import os
import stat

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
import torch
from detect_testing import tiny_checkpoint

import scd_core
from scd_core import checkpoint
from scd_core.errors import InvalidAoiError, NoOverlapError
from scd_core.geo.pipeline import OUTPUT_FILES
from scd_core.models import build
from scd_core.synth import make_scene, write_geo_pair

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}


@pytest.fixture(scope="module")
def collared_run(collared, ckpt, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "out"
    events = []
    result = scd_core.detect(collared.before, collared.after, ckpt, out, progress=events.append, **FAST)
    return result, events


def read(path, band=1):
    with rasterio.open(path) as dataset:
        return dataset.read(band)


def test_every_output_is_written_on_befores_grid(collared, collared_run):
    result, _ = collared_run
    assert sorted(p.name for p in result.out_dir.iterdir()) == sorted(OUTPUT_FILES.values())
    with rasterio.open(collared.before) as before:
        crs, transform = before.crs, before.transform
    for name in ("change_type", "before_class", "after_class", "change_prob"):
        with rasterio.open(result.outputs[name]) as dataset:
            assert dataset.crs == crs and dataset.transform == transform and dataset.nodata == 255
            assert dataset.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert dataset.compression.name.lower() == "deflate"
            assert dataset.colormap(1)[0][3] == 255 and dataset.colormap(1)[255][3] == 0
            assert json.loads(dataset.tags()["scd_parameters"])["options"]["tile"] == 128
    with rasterio.open(result.outputs["change_type"]) as dataset:
        assert json.loads(dataset.tags()["scd_class_names"])["26"] == "building → non-vegetated ground surface"
    with rasterio.open(result.outputs["change_prob"]) as dataset:
        assert dataset.scales == (0.004,)


def test_nodata_of_either_date_is_nodata_everywhere_and_never_a_polygon(collared, collared_run):
    result, _ = collared_run
    with rasterio.open(collared.before) as b, rasterio.open(collared.after) as a:
        invalid = (b.read_masks(1) == 0) | (a.read_masks(1) == 0)
    assert 0.05 < invalid.mean() < 0.6
    for name in ("change_type", "before_class", "after_class", "change_prob"):
        assert np.array_equal(read(result.outputs[name]) == 255, invalid)
    codes = read(result.outputs["change_type"])
    before, after = read(result.outputs["before_class"]), read(result.outputs["after_class"])
    valid = ~invalid
    assert ((before[valid] == 0) == (after[valid] == 0)).all()
    assert ((codes[valid] == 0) == (before[valid] == 0)).all()
    frame = pyogrio.read_dataframe(result.outputs["changes"], layer="changes")
    with rasterio.open(collared.before) as dataset:
        nodata_area = shapely.union_all(
            [
                shapely.geometry.shape(g)
                for g, v in rasterio.features.shapes(
                    invalid.astype(np.uint8), mask=invalid, transform=dataset.transform
                )
            ]
        )
    assert frame.geometry.is_valid.all()
    assert (frame.geometry.intersection(nodata_area).area < 1e-6).all()


def test_polygons_summary_and_counts_agree(collared_run):
    result, events = collared_run
    frame = pyogrio.read_dataframe(result.outputs["changes"], layer="changes")
    assert len(frame) == result.counts["features"] > 0
    assert set(frame.columns) >= {
        "change_type",
        "from_class",
        "to_class",
        "from_name",
        "to_name",
        "area_m2",
        "mean_prob",
    }
    # 0.5 m pixels: a region's geodesic area is its pixel count × 0.25 m², within UTM's scale error
    pixels = result.counts["changed_pixels"]
    assert frame["area_m2"].sum() == pytest.approx(pixels * 0.25, rel=2e-3)
    with open(result.outputs["summary"], newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][1:8] == [
        "water",
        "non-vegetated ground surface",
        "low vegetation",
        "tree",
        "building",
        "playground",
        "total",
    ]  # then each class's gains and losses (tests/core/accounting/test_components.py)
    assert float(rows[-1][7]) == pytest.approx(frame["area_m2"].sum() / 10_000, abs=1e-3)
    run = json.loads(result.outputs["run"].read_text())
    assert run["inputs"]["before"]["sha256"] and run["model"]["name"] == "fc_ef"
    assert run["counts"]["features"] == result.counts["features"] and run["software"]["gdal"]
    kinds = [e["event"] for e in events]
    # a message may come before start (the first run of a session exports the model for ONNX Runtime)
    (start,) = [e for e in events if e["event"] == "start"]
    assert set(kinds[: kinds.index("start")]) <= {"message", "warning"}
    assert kinds[-1] == "done" and "error" not in kinds
    progress = [e["done"] for e in events if e["event"] == "progress"]
    assert kinds.index("start") < kinds.index("progress")
    assert progress == sorted(progress) and progress[-1] == start["total"]


def test_after_on_another_crs_and_resolution_is_resampled_and_said_so(tmp_path, ckpt):
    pair = write_geo_pair(tmp_path / "pair", 256, seed=2, after_crs="EPSG:4326", after_resolution=7e-6)
    events = []
    result = scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "out", progress=events.append, **FAST)
    messages = [e["text"] for e in events if e["event"] == "message"]
    assert any("AFTER is resampled onto BEFORE's grid (EPSG:4326 → EPSG:32633)" in m for m in messages)
    with rasterio.open(pair.before) as before, rasterio.open(result.outputs["change_type"]) as out:
        assert out.crs == before.crs and out.res == before.res
    assert json.loads(result.outputs["run"].read_text())["inputs"]["after"]["resampled"] is True


def test_an_aoi_in_another_crs_clips_the_grid_and_masks_outside(tmp_path, collared, ckpt):
    with rasterio.open(collared.before) as before:
        left, bottom, right, top = before.bounds
    xs, ys = [left + 30, right - 60, left + 80], [top - 20, top - 90, bottom + 40]
    triangle = shapely.Polygon(zip(xs, ys, strict=True))
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    lonlat = shapely.transform(
        shapely.segmentize(triangle, 1.0), lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1]))
    )
    aoi = tmp_path / "aoi.geojson"
    pyogrio.write_dataframe(__import__("geopandas").GeoDataFrame(geometry=[lonlat], crs="EPSG:4326"), aoi)
    result = scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "out", aoi=aoi, **FAST)
    with rasterio.open(result.outputs["change_type"]) as out:
        codes, transform = out.read(1), out.transform
        assert out.bounds.left >= left + 29 and out.bounds.top <= top - 19 and out.width < 256
    near = rasterio.features.geometry_mask([triangle.buffer(1.0)], codes.shape, transform, invert=True)
    assert (codes[~near] == 255).all()  # 1 m of slack: the AOI went to degrees and back
    frame = pyogrio.read_dataframe(result.outputs["changes"], layer="changes")
    assert (frame.geometry.difference(triangle.buffer(1.0)).area < 1e-6).all()  # pixel edges: ≤ 0.71 m out


def test_areas_are_square_metres_on_a_geographic_grid(tmp_path, ckpt):
    pair = write_geo_pair(tmp_path / "pair", 256, seed=4, crs="EPSG:4326", resolution=1e-4, origin=(13.0, 60.0))
    result = scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "out", **FAST)
    frame = pyogrio.read_dataframe(result.outputs["changes"], layer="changes")
    # a 1e-4° pixel at 60° N is ≈ 11.13 m (north) × 5.58 m (east) ≈ 62 m²
    assert frame["area_m2"].sum() / result.counts["changed_pixels"] == pytest.approx(62.1, rel=0.01)
    equal_area = (
        frame.set_crs("EPSG:4326", allow_override=True).to_crs("+proj=laea +lat_0=60 +lon_0=13 +datum=WGS84").area
    )
    assert np.allclose(frame["area_m2"], equal_area, rtol=2e-3)


def test_uint16_imagery_is_stretched_and_the_user_can_scale_it(tmp_path, ckpt):
    pair = write_geo_pair(tmp_path / "pair", 128, seed=5, dtype="uint16")
    events = []
    scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "auto", progress=events.append, **FAST)
    said = [e["text"] for e in events if e["event"] == "message"]
    assert any(text.startswith("BEFORE and AFTER are uint16: one stretch for both, bands scaled from") for text in said)
    assert all("--scale" in text for text in said if "scaled from" in text)  # the hint: --scale was not given
    hinted = []
    scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "apart", scale="auto-per-date", progress=hinted.append,
                    **FAST)  # fmt: skip
    apart = [e["text"] for e in hinted if e["event"] == "message" and "scaled from" in e["text"]]
    assert len(apart) == 2 and not any("--scale" in text for text in apart)
    run = scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "own", scale=(0, 3000), **FAST)
    assert (
        json.loads(run.outputs["run"].read_text())["options"]["scale"][0]
        == "bands scaled from [0, 3000], [0, 3000], [0, 3000] to [0, 255]"
    )


def test_the_change_matrix_totals_what_the_geopackage_holds(tmp_path, collared, ckpt):
    result = scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "out", min_area=2.0, mmu=0, **FAST)
    frame = pyogrio.read_dataframe(result.outputs["changes"], layer="changes")
    with open(result.outputs["summary"], newline="") as handle:
        rows = list(csv.reader(handle))
    total = float(rows[-1][rows[0].index("total")])
    counts = json.loads(result.outputs["run"].read_text())["counts"]
    assert (frame["area_m2"] >= 2.0).all() and counts["features"] == len(frame) < counts["regions"]
    assert total == pytest.approx(frame["area_m2"].sum() / 10_000, abs=1e-3) == counts["polygon_area_ha"]
    assert counts["changed_area_ha"] > counts["polygon_area_ha"]  # the small regions still count there


def test_output_folders_follow_the_umask(tmp_path, collared, ckpt):
    previous = os.umask(0o022)
    try:
        result = scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "out", **FAST)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(result.out_dir.stat().st_mode) == 0o755
    assert stat.S_IMODE(result.outputs["run"].stat().st_mode) == 0o644


def test_errors_named_in_the_api_are_input_errors(collared, ckpt, tmp_path):
    with pytest.raises(InvalidAoiError):
        scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "o", bbox="5,5,1,1", **FAST)
    with pytest.raises(NoOverlapError):
        scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "o", bbox="0,0,1,1", **FAST)


# ------------------------------------------------------------------------------------ atomicity and cancel


def test_a_failing_run_leaves_the_output_folder_as_it_was(tmp_path, collared, ckpt):
    out = tmp_path / "out"
    scd_core.detect(collared.before, collared.after, ckpt, out, **FAST)
    (out / "notes.txt").write_text("mine")
    snapshot = {p.name: p.read_bytes() for p in out.iterdir()}

    def explode(event):
        if event["event"] == "progress":
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        scd_core.detect(collared.before, collared.after, ckpt, out, overwrite=True, progress=explode, **FAST)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == snapshot
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    again = scd_core.detect(collared.before, collared.after, ckpt, out, overwrite=True, **FAST)
    assert (out / "notes.txt").read_text() == "mine" and again.outputs["run"].stat().st_mtime >= (
        out / "notes.txt"
    ).stat().st_mtime


# ------------------------------------------------------------------------------------ seams


def train_briefly(steps: int = 300, seed: int = 0) -> tuple[torch.nn.Module, float]:
    """fc_ef (width 4) trained for seconds on synthetic scenes, and the threshold τ at which it marks as
    many training pixels changed as the truth does: enough for structured, confident maps.

    One thread: on a small shared machine, two OpenMP threads fighting other work are many times slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(steps, seed)
    finally:
        torch.set_num_threads(threads)


def _train(steps: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    scenes = [make_scene(96, s) for s in range(8)]

    def stack(name):
        return torch.from_numpy(np.stack([getattr(s, name) for s in scenes]))

    x1 = stack("image1").permute(0, 3, 1, 2).float().div(255).contiguous()
    x2 = stack("image2").permute(0, 3, 1, 2).float().div(255).contiguous()
    label1, label2 = stack("label1").long(), stack("label2").long()
    model = build("fc_ef", width=4)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        pick = torch.randperm(len(scenes))[:4]
        loss = model.loss(model(x1[pick], x2[pick]), label1[pick], label2[pick])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.inference_mode():
        probability = torch.sigmoid(model(x1, x2)["change"][:, 0])
    changed = (label1 > 0) & (label1 != 255)
    threshold = float(torch.quantile(probability.flatten(), 1 - changed.float().mean().item()))
    return model, min(max(threshold, 0.01), 0.99)


@pytest.fixture(scope="session")
def trained_ckpt(tmp_path_factory):
    model, threshold = train_briefly()
    return checkpoint.save(
        model, tmp_path_factory.mktemp("trained") / "trained.ckpt", tile_size=128, threshold=threshold
    )


def test_shifting_the_tile_grid_by_half_a_tile_changes_under_half_a_percent(tmp_path, trained_ckpt):
    # The default geometry (a quarter of the tile overlaps): differences between the two grids sit within
    # a receptive field of some tile edge, so a half-tile shift of 512-pixel tiles is the honest test;
    # with 128-pixel tiles every pixel is near an edge (about 6% flip with this model).
    pair = write_geo_pair(tmp_path / "pair", 1024, seed=3)
    maps = []
    for offset in (0, 256):
        result = scd_core.detect(
            pair.before, pair.after, trained_ckpt, tmp_path / f"out{offset}", tile=512, tile_offset=offset, device="cpu"
        )
        maps.append((read(result.outputs["change_type"]), read(result.outputs["change_prob"]) / 250))
    (codes, prob), (shifted_codes, shifted_prob) = maps
    assert 0.005 < (codes > 0).mean() < 0.95  # the model draws changes, not a constant
    assert (codes != shifted_codes).mean() < 0.005
    assert np.abs(prob - shifted_prob).mean() < 0.01


def test_a_model_trained_on_synthetic_scenes_only_says_so(tmp_path, collared):
    synthetic = tiny_checkpoint(
        tmp_path / "synthetic.pt", training_data={"kind": "synthetic", "description": "scd_core.synth scenes"}
    )
    events = []
    scd_core.detect(collared.before, collared.after, synthetic, tmp_path / "out", progress=events.append, **FAST)
    warnings = [e["text"] for e in events if e["event"] == "warning"]
    assert any("trained on synthetic scenes only (scd_core.synth scenes)" in text for text in warnings)
