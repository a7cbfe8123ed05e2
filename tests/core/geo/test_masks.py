"""Masks (``--mask-before``, ``--mask-after``, ``--mask-values``): masked pixels of either date are
nodata in every output and never a polygon, a mask on another grid is warped onto BEFORE's, run.json
records the share masked, and bad masks are refused with exit 2 before anything is written."""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin

import scd_core
from scd_core.cli import main
from scd_core.synth import write_geo_pair

FAST = {"tile": 128, "overlap": 32, "device": "cpu", "threshold": 0.3}
RASTERS = ("change_type", "before_class", "after_class", "change_prob")
SIZE = 128
ORIGIN = (500000.0, 5800000.0)  # BEFORE's upper-left corner on EPSG:32633, 0.5 m pixels


def write_mask(path, data, crs="EPSG:32633", transform=None, nodata=None):
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1, "dtype": data.dtype.name,
               "crs": crs, "nodata": nodata, "transform": transform or from_origin(*ORIGIN, 0.5, 0.5)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(data, 1)
    return str(path)


def read(path):
    with rasterio.open(path) as dataset:
        return dataset.read(1)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return write_geo_pair(tmp_path_factory.mktemp("masks") / "pair", SIZE, seed=4, origin=ORIGIN)


@pytest.fixture(scope="module")
def square(pair):
    """A mask on BEFORE's grid: rows 32-63, columns 40-87."""
    data = np.zeros((SIZE, SIZE), np.uint8)
    data[32:64, 40:88] = 1
    return write_mask(pair.before.parent / "square.tif", data), data.astype(bool)


def test_a_mask_square_is_nodata_in_every_output_and_never_a_polygon(pair, square, ckpt, tmp_path):
    path, masked = square
    result = scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "out", mask_after=path, **FAST)
    for name in RASTERS:
        values = read(result.outputs[name])
        assert (values[masked] == 255).all(), name
        assert (values[~masked] != 255).all(), name  # the pair has no nodata: only the mask's pixels are
    frame = pyogrio.read_dataframe(result.outputs["changes"], layer="changes")
    assert len(frame) > 0
    left, top = ORIGIN
    hole = shapely.box(left + 40 * 0.5, top - 64 * 0.5, left + 88 * 0.5, top - 32 * 0.5)
    assert (frame.geometry.intersection(hole).area < 1e-6).all()
    run = json.loads(result.outputs["run"].read_text())
    assert run["inputs"]["before"]["mask"] is None
    mask = run["inputs"]["after"]["mask"]
    assert mask["path"] == path and mask["values"] is None and mask["resampled"] is False and mask["sha256"]
    assert mask["masked_share"] == pytest.approx(masked.mean(), abs=1e-6)
    assert run["counts"]["nodata_pixels"] == masked.sum()
    assert run["request"]["mask_after"] == mask["sha256"] and run["options"]["mask_after"] == path
    assert f"after mask ({masked.mean():.1%} masked)" in result.outputs["report"].read_text()


def test_the_masked_share_is_over_the_runs_area(pair, square, ckpt, tmp_path):
    path, masked = square
    left, top = ORIGIN
    bbox = f"{left},{top - 64 * 0.5},{left + 64 * 0.5},{top}"  # rows 0-63, columns 0-63: a quarter of the square's
    result = scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "out", mask_before=path, bbox=bbox, **FAST)
    run = json.loads(result.outputs["run"].read_text())
    assert run["inputs"]["before"]["mask"]["masked_share"] == pytest.approx(masked[:64, :64].mean(), abs=1e-6)
    assert (read(result.outputs["change_type"])[32:64, 40:64] == 255).all()


def test_a_mask_on_another_crs_and_grid_is_warped_onto_befores(pair, ckpt, tmp_path):
    to_degrees = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    left, top = ORIGIN
    west, north = to_degrees.transform(left, top)
    resolution = 2e-5  # about 1.4 m by 2.2 m: coarser than BEFORE's 0.5 m, and rotated against its grid
    data = np.zeros((30, 40), np.uint8)
    data[8:20, 10:26] = 7
    transform = from_origin(west - 5 * resolution, north + 5 * resolution, resolution, resolution)
    path = write_mask(tmp_path / "degrees.tif", data, "EPSG:4326", transform)
    result = scd_core.detect(pair.before, pair.after, ckpt, tmp_path / "out", mask_before=path, mmu=0, **FAST)
    box = shapely.box(*transform @ (10, 20), *transform @ (26, 8))  # the masked cells' corners, in degrees
    to_metres = Transformer.from_crs("EPSG:4326", "EPSG:32633", always_xy=True)
    in_metres = shapely.transform(box, lambda xy: np.column_stack(to_metres.transform(xy[:, 0], xy[:, 1])))
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    centres = shapely.points(left + (cols + 0.5) * 0.5, top - (rows + 0.5) * 0.5)
    inside = shapely.contains(in_metres.buffer(-1.5), centres)  # a cell's width from the edge either way
    outside = ~shapely.contains(in_metres.buffer(1.5), centres)
    assert inside.sum() > 500 and outside.sum() > 5000
    codes = read(result.outputs["change_type"])
    assert (codes[inside] == 255).all() and (codes[outside] != 255).all()
    run = json.loads(result.outputs["run"].read_text())
    assert run["inputs"]["before"]["mask"]["resampled"] is True


def test_mask_values_mask_only_those_classes_of_a_scene_classification(pair, ckpt, tmp_path):
    """An SCL-like layer at twice BEFORE's pixel size: 0 no data, 4 vegetation, 3 cloud shadow, 8 and 9 cloud."""
    scl = np.full((SIZE // 2, SIZE // 2), 4, np.uint8)
    scl[0:8, :] = 0
    scl[10:20, 5:25], scl[30:40, 30:50], scl[45:55, 5:15] = 3, 8, 9
    path = write_mask(tmp_path / "scl.tif", scl, transform=from_origin(*ORIGIN, 1.0, 1.0), nodata=0)
    result = scd_core.detect(
        pair.before, pair.after, ckpt, tmp_path / "out", mask_after=path, mask_values=(3, 8, 9, 10), **FAST
    )
    expected = np.isin(scl, (3, 8, 9, 10)).repeat(2, axis=0).repeat(2, axis=1)
    for name in RASTERS:
        assert np.array_equal(read(result.outputs[name]) == 255, expected), name
    run = json.loads(result.outputs["run"].read_text())
    assert run["inputs"]["after"]["mask"]["values"] == [3, 8, 9, 10]
    assert run["inputs"]["after"]["mask"]["masked_share"] == pytest.approx(expected.mean(), abs=1e-6)


@pytest.fixture(scope="module")
def bad(pair, tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-masks")
    garbage = root / "garbage.tif"
    garbage.write_bytes(b"not a raster at all")
    far = from_origin(ORIGIN[0] + 10_000, ORIGIN[1], 0.5, 0.5)
    return {
        "before": pair.before,
        "after": pair.after,
        "far": write_mask(root / "far.tif", np.ones((16, 16), np.uint8), transform=far),
        "float": write_mask(root / "float.tif", np.ones((SIZE, SIZE), np.float32)),
        "full": write_mask(root / "full.tif", np.full((SIZE, SIZE), 9, np.uint8)),
        "garbage": garbage,
        "missing": root / "missing.tif",
    }


CORNER = f"{ORIGIN[0]},{ORIGIN[1] - 8},{ORIGIN[0] + 8},{ORIGIN[1]}"  # rows and columns 0-15
REFUSALS = {
    "a mask that does not overlap": (["--mask-after", "{far}"], "{far}: --mask-after shares no ground"),
    "values on a float mask": (["--mask-before", "{float}", "--mask-values", "1"], "{float}: --mask-values"),
    "values without a mask": (["--mask-values", "3,8"], "--mask-values"),
    "values that are no numbers": (["--mask-after", "{full}", "--mask-values", "3,x"], "--mask-values"),
    "an unreadable mask": (["--mask-before", "{garbage}"], "{garbage}: --mask-before is not a raster"),
    "a missing mask": (["--mask-after", "{missing}"], "{missing}: --mask-after raster not found"),
    "a date fully masked": (["--mask-before", "{full}"], "{full}: --mask-before masks every pixel"),
    "fully masked over the AOI": (
        ["--mask-after", "{full}", "--mask-values", "9", "--bbox", CORNER],
        "{full}: --mask-after masks every pixel of the run's area",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_bad_mask_exits_2_with_one_line_naming_it_and_writes_nothing(case, bad, ckpt, tmp_path, capsys):
    flags, named = REFUSALS[case]
    args = [str(bad["before"]), str(bad["after"]), *(a.format(**bad) for a in flags)]
    code = main(["detect", *args, "-o", str(tmp_path / "out"), "--model", str(ckpt), "--progress", "none"])
    error = capsys.readouterr().err
    assert code == 2, error
    assert named.format(**bad) in error and len(error.strip().splitlines()) == 1, error
    assert list(tmp_path.iterdir()) == []


def test_batch_takes_each_pairs_masks_from_its_columns(pair, square, ckpt, tmp_path):
    """--mask-values applies to the pairs with masks; a pair without runs unmasked."""
    path, masked = square
    pairs = tmp_path / "pairs.csv"
    rows = [f"masked,{pair.before},{pair.after},,{path}", f"clear,{pair.before},{pair.after},,"]
    pairs.write_text("id,before,after,mask_before,mask_after\n" + "\n".join(rows) + "\n")
    common = ["--model", str(ckpt), "--tile", "128", "--overlap", "32", "--device", "cpu", "--progress", "none"]
    assert main(["batch", str(pairs), "-o", str(tmp_path / "out"), "--mask-values", "1", *common]) == 0
    assert (read(tmp_path / "out" / "masked" / "change_type.tif")[masked] == 255).all()
    assert (read(tmp_path / "out" / "clear" / "change_type.tif") != 255).all()
    recorded = (tmp_path / "out" / "masked" / "run.json").read_text()
    run = json.loads(recorded)
    assert run["inputs"]["before"]["mask"] is None and run["inputs"]["after"]["mask"]["path"] == path
    assert run["inputs"]["after"]["mask"]["values"] == [1]
    assert main(["batch", str(pairs), "-o", str(tmp_path / "out"), "--mask-values", "1", *common]) == 0  # skipped
    assert (tmp_path / "out" / "masked" / "run.json").read_text() == recorded


def test_batch_refuses_mask_values_when_no_pair_has_a_mask(pair, ckpt, tmp_path, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"id,before,after\nclear,{pair.before},{pair.after}\n")
    code = main(["batch", str(pairs), "-o", str(tmp_path / "out"), "--mask-values", "3", "--model", str(ckpt)])
    error = capsys.readouterr().err
    assert code == 2 and f"--mask-values says which values of the masks to mask, but no pair of {pairs}" in error
    assert not (tmp_path / "out").exists()
