"""``scd_core.synth``: the project's test and benchmark data must be deterministic, hold every class
and the changes SECOND annotates, keep pseudo-changes unlabelled, and write what it says it writes."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import rasterio.warp
from PIL import Image
from rasterio.warp import Resampling, reproject

from scd_core.cli import main
from scd_core.labels import IGNORE, NUM_CLASSES, change_code, read_label
from scd_core.synth import make_scene, pair_seed, write_geo_pair, write_second

SEEDS = range(6)
ALL_CLASSES = set(range(1, NUM_CLASSES + 1))
WATER, GROUND, LOW_VEGETATION, TREE, BUILDING, PLAYGROUND = range(1, 7)
ARRAYS = ("image1", "image2", "label1", "label2", "cover1", "cover2")


@pytest.fixture(scope="module")
def scenes():
    return [make_scene(512, seed) for seed in SEEDS]


def assert_same_scene(a, b):
    for name in ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


# ----------------------------------------------------------------------------------- in memory


def test_same_seed_and_size_give_byte_identical_arrays_and_another_seed_does_not():
    first, again, other = make_scene(256, 11), make_scene(256, 11), make_scene(256, 12)
    for name in ARRAYS:
        assert getattr(first, name).tobytes() == getattr(again, name).tobytes(), name
    assert not np.array_equal(first.image1, other.image1)
    assert first.misregistration == again.misregistration


def test_shapes_and_dtypes_follow_second_and_non_square_sizes_work():
    scene = make_scene((200, 330), 1)
    assert scene.image1.shape == scene.image2.shape == (200, 330, 3)
    assert scene.label1.shape == scene.cover2.shape == (200, 330)
    assert {getattr(scene, name).dtype for name in ARRAYS} == {np.dtype(np.uint8)}
    assert make_scene((37, 5), 0).image1.shape == (37, 5, 3)  # tiny and thin scenes still render


def test_every_class_is_on_the_ground_of_both_dates_of_a_512_scene(scenes):
    for scene in scenes:
        assert set(np.unique(scene.cover1)) == ALL_CLASSES
        assert set(np.unique(scene.cover2)) == ALL_CLASSES


def test_every_class_is_labelled_as_changed_on_both_dates_over_a_few_seeds(scenes):
    assert set().union(*(np.unique(s.label1) for s in scenes)) == ALL_CLASSES | {0}
    assert set().union(*(np.unique(s.label2) for s in scenes)) == ALL_CLASSES | {0}


def test_labels_are_no_change_on_both_dates_or_a_class_on_both(scenes):
    for scene in scenes:
        assert np.array_equal(scene.label1 == 0, scene.label2 == 0)
        assert change_code(scene.label1, scene.label2).max() <= 36  # accepted as SECOND labels
        changed = scene.label1 > 0
        assert 0.02 < changed.mean() < 0.6
        assert np.array_equal(scene.label1[changed], scene.cover1[changed])
        assert np.array_equal(scene.label2[changed], scene.cover2[changed])
        # Nothing semantic changes unlabelled: outside the labels both dates have the same land cover.
        assert np.array_equal(scene.cover1[~changed], scene.cover2[~changed])


@pytest.mark.parametrize(
    "before, after",
    [(LOW_VEGETATION, BUILDING), (GROUND, WATER), (TREE, GROUND), (BUILDING, BUILDING), (GROUND, PLAYGROUND)],
    ids=["vegetation built over", "pond dug", "trees cleared", "building rebuilt", "court laid out"],
)
def test_plausible_change_types_occur_over_a_handful_of_seeds(scenes, before, after):
    counts = [int(((s.label1 == before) & (s.label2 == after)).sum()) for s in scenes]
    assert max(counts) > 100, counts


def test_pseudo_changes_alter_the_unchanged_pixels_without_being_labelled(scenes):
    for scene in scenes:
        unchanged = scene.label1 == 0
        first, second = scene.image1[unchanged].astype(int), scene.image2[unchanged].astype(int)
        assert np.abs(first - second).mean() > 6  # light, season, noise and misregistration
        assert (first != second).any(axis=1).mean() > 0.9
        assert 0.3 <= np.hypot(*scene.misregistration) <= 1.8


def edge_strength(image: np.ndarray) -> np.ndarray:
    slope_y, slope_x = np.gradient(image.astype(np.float32).mean(axis=2))
    return np.hypot(slope_x, slope_y)


def estimated_shift(first: np.ndarray, second: np.ndarray, reach: int = 3) -> tuple[float, float]:
    """(dx, dy) such that first[p + d] best matches second[p]: the peak of the correlation over integer
    shifts, refined to sub-pixel by a parabola through the peak and its neighbours on each axis."""
    inner = (slice(reach + 1, -reach - 1), slice(reach + 1, -reach - 1))
    shifts = range(-reach - 1, reach + 2)
    score = np.array(
        [
            [
                np.corrcoef(np.roll(first, (-dy, -dx), axis=(0, 1))[inner].ravel(), second[inner].ravel())[0, 1]
                for dx in shifts
            ]
            for dy in shifts
        ]
    )
    row, col = np.unravel_index(np.argmax(score[1:-1, 1:-1]), (2 * reach + 1, 2 * reach + 1))
    row, col = row + 1, col + 1

    def vertex(before: float, peak: float, after: float) -> float:
        return (before - after) / (2 * (before - 2 * peak + after))

    dx = shifts[col] + vertex(score[row, col - 1], score[row, col], score[row, col + 1])
    dy = shifts[row] + vertex(score[row - 1, col], score[row, col], score[row + 1, col])
    return dx, dy


def test_second_image_is_misregistered_by_the_stated_sub_pixel_shift(scenes):
    for scene in scenes[:3]:
        estimate = estimated_shift(edge_strength(scene.image1), edge_strength(scene.image2))
        assert np.abs(np.subtract(estimate, scene.misregistration)).max() < 0.3, (estimate, scene.misregistration)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="positive"):
        make_scene((0, 10))
    with pytest.raises(ValueError, match="dtype"):
        write_geo_pair(tmp_path, 32, dtype="int8")
    with pytest.raises(ValueError, match="bands"):
        write_geo_pair(tmp_path, 32, bands=2)
    with pytest.raises(ValueError, match="nodata_collar"):
        write_geo_pair(tmp_path, 32, nodata_collar=-1)


# ----------------------------------------------------------------------------- SECOND's layout


def test_write_second_writes_secondes_layout_with_rgb_labels(tmp_path):
    written = write_second(tmp_path, n_pairs=3, size=(96, 128), seed=5)
    assert [p.name for p in written] == ["00000.png", "00001.png", "00002.png"]
    for folder in ("im1", "im2", "label1", "label2"):
        assert sorted(p.name for p in (tmp_path / folder).iterdir()) == [p.name for p in written]
    for index, path in enumerate(written):
        scene = make_scene((96, 128), pair_seed(5, index))
        with Image.open(tmp_path / "label1" / path.name) as label:
            assert label.mode == "RGB"
        assert np.array_equal(read_label(tmp_path / "label1" / path.name), scene.label1)
        assert np.array_equal(read_label(tmp_path / "label2" / path.name), scene.label2)
        assert np.array_equal(np.asarray(Image.open(tmp_path / "im2" / path.name)), scene.image2)
    assert pair_seed(5, 0) != pair_seed(5, 1) != pair_seed(6, 0)


# ------------------------------------------------------------------------------ georeferenced


def read(path):
    with rasterio.open(path) as dataset:
        return dataset.read()


def test_geo_pair_is_the_scene_on_a_georeferenced_grid(tmp_path):
    pair = write_geo_pair(tmp_path, size=(256, 384), seed=4, resolution=0.5, origin=(400000.0, 5800000.0))
    assert_same_scene(pair.scene, make_scene((256, 384), 4))
    for path in (pair.before, pair.after, pair.label1, pair.label2, pair.change_type):
        with rasterio.open(path) as dataset:
            assert dataset.crs == "EPSG:32633"
            assert dataset.transform == rasterio.Affine(0.5, 0, 400000.0, 0, -0.5, 5800000.0)
            assert dataset.shape == (256, 384)
            assert dataset.profile["tiled"] and dataset.compression.name == "deflate"
    with rasterio.open(pair.before) as before:
        assert before.count == 3 and before.dtypes[0] == "uint8" and before.nodata is None
    assert np.array_equal(read(pair.before).transpose(1, 2, 0), pair.scene.image1)
    assert np.array_equal(read(pair.after).transpose(1, 2, 0), pair.scene.image2)
    label1, label2, codes = read(pair.label1)[0], read(pair.label2)[0], read(pair.change_type)[0]
    assert np.array_equal(label1, pair.scene.label1)
    assert np.array_equal(codes, change_code(label1, label2))
    with rasterio.open(pair.label1) as dataset:
        assert dataset.nodata == IGNORE
        assert dataset.colormap(1)[BUILDING] == (128, 0, 0, 255)


def test_default_origin_is_in_europe_and_resolution_half_a_metre(tmp_path):
    pair = write_geo_pair(tmp_path, 64, seed=0, keep_scene=False)
    assert pair.scene is None
    with rasterio.open(pair.before) as before:
        x, y = before.transform.c, before.transform.f
        assert before.res == (0.5, 0.5)
    longitude, latitude = rasterio.warp.transform("EPSG:32633", "EPSG:4326", [x], [y])
    assert 5 < longitude[0] < 25 and 45 < latitude[0] < 60


def test_collar_is_ragged_nodata_and_labels_ignore_it(tmp_path):
    pair = write_geo_pair(tmp_path, 256, seed=1, nodata_collar=16, dtype="uint16", bands=4)
    before, after = read(pair.before), read(pair.after)
    with rasterio.open(pair.before) as dataset:
        assert dataset.nodata == 0 and dataset.count == 4 and dataset.dtypes[0] == "uint16"
    valid1, valid2 = (before != 0).all(axis=0), (after != 0).all(axis=0)
    assert np.array_equal(valid1, (before != 0).any(axis=0))  # nodata in every band alike
    assert not valid1[0].any() and not valid1[:, -1].any() and valid1[128, 128]
    assert 0.05 < (~valid1).mean() < 0.5
    assert not np.array_equal(valid1, valid2)  # each date has its own footprint
    first_valid_column = valid1[64:192].argmax(axis=1)
    assert len(np.unique(first_valid_column)) > 4  # ragged and rotated, not a straight border
    ignored = ~(valid1 & valid2)
    for path in (pair.label1, pair.label2, pair.change_type):
        labels = read(path)[0]
        assert np.array_equal(labels == IGNORE, ignored)
    assert np.array_equal(pair.scene.change_type, read(pair.change_type)[0])
    assert not pair.scene.change_mask[ignored].any()
    assert before[:, valid1].max() <= 5000  # reflectance × 10000
    red, nir = before[0].astype(float), before[3].astype(float)
    vegetation, water = pair.scene.cover1 == LOW_VEGETATION, pair.scene.cover1 == WATER
    assert (nir - red)[vegetation & valid1].mean() > (nir - red)[water & valid1].mean() + 500


def warp_back(pair, band: int = 1) -> np.ndarray:
    """AFTER resampled onto BEFORE's grid."""
    with rasterio.open(pair.before) as before, rasterio.open(pair.after) as after:
        back = np.zeros(before.shape, np.float32)
        reproject(
            rasterio.band(after, band),
            back,
            dst_transform=before.transform,
            dst_crs=before.crs,
            dst_nodata=0,
            resampling=Resampling.bilinear,
        )
    return back


def test_after_on_another_crs_and_resolution_holds_the_same_ground(tmp_path):
    pair = write_geo_pair(tmp_path, 256, seed=2, after_crs="EPSG:4326", after_resolution=7e-6)
    with rasterio.open(pair.before) as before, rasterio.open(pair.after) as after:
        assert after.crs == "EPSG:4326" and after.res == pytest.approx((7e-6, 7e-6))
        assert after.nodata == 0
        left, bottom, right, top = rasterio.warp.transform_bounds(after.crs, before.crs, *after.bounds)
        assert left <= before.bounds.left and right >= before.bounds.right
        assert bottom <= before.bounds.bottom and top >= before.bounds.top
    assert_lands_where_it_was_rendered(pair)


def assert_lands_where_it_was_rendered(pair):
    """AFTER warped back onto BEFORE's grid matches the second image as rendered there, to well under
    a pixel: it matches far worse one pixel off."""
    back, truth = warp_back(pair), pair.scene.image2[..., 0].astype(np.float32)
    inner = (slice(8, -8), slice(8, -8))
    assert (back[inner] > 0).all()  # AFTER covers BEFORE's whole footprint
    error = np.abs(back[inner] - truth[inner]).mean()
    error_one_pixel_off = np.abs(back[inner] - np.roll(truth, (1, 1), axis=(0, 1))[inner]).mean()
    assert error < 4 and error < 0.6 * error_one_pixel_off


def test_after_shift_moves_the_grid_not_the_ground(tmp_path):
    pair = write_geo_pair(tmp_path, 128, seed=3, after_shift=(0.25, -0.3))
    with rasterio.open(pair.before) as before, rasterio.open(pair.after) as after:
        assert after.crs == before.crs and after.res == before.res
        assert (after.transform.c - before.transform.c) % 0.5 == pytest.approx(0.25)
        assert (after.transform.f - before.transform.f) % 0.5 == pytest.approx(0.2)
    assert_lands_where_it_was_rendered(pair)


def test_after_at_another_resolution_on_the_same_crs(tmp_path):
    pair = write_geo_pair(tmp_path, 128, seed=5, after_resolution=0.7)
    with rasterio.open(pair.before) as before, rasterio.open(pair.after) as after:
        assert after.crs == before.crs and after.res == (0.7, 0.7)
        assert after.shape == (92, 92)  # 64 m covered by 0.7 m pixels
        assert (after.transform.c, after.transform.f) == (before.transform.c, before.transform.f)
    assert_lands_where_it_was_rendered(pair)


def test_geographic_crs_works_in_degrees(tmp_path):
    pair = write_geo_pair(tmp_path, (64, 96), seed=0, crs="EPSG:4326", dtype="float32", after_crs="EPSG:32633")
    with rasterio.open(pair.before) as before:
        assert before.crs == "EPSG:4326" and before.shape == (64, 96)
        assert before.res[0] == pytest.approx(0.5 / 111_320)
        assert 13 < before.transform.c < 14 and 52 < before.transform.f < 53
        assert 0 < before.read().max() <= 0.5  # reflectance
    with rasterio.open(pair.after) as after:
        assert after.crs == "EPSG:32633" and after.dtypes[0] == "float32"


# ------------------------------------------------------------------------------------- command


def test_scd_synth_writes_both_kinds(tmp_path, capsys):
    assert main(["synth", "second", str(tmp_path / "second"), "--pairs", "2", "--size", "64", "--seed", "3"]) == 0
    assert len(list((tmp_path / "second" / "label2").glob("*.png"))) == 2
    assert (
        main(
            ["synth", "geo", str(tmp_path / "geo"), "--size", "64", "80", "--crs", "EPSG:3857", "--nodata-collar", "4"]
        )
        == 0
    )
    with rasterio.open(tmp_path / "geo" / "after.tif") as after:
        assert after.crs == "EPSG:3857" and after.shape == (64, 80) and after.nodata == 0
    assert "change_type.tif" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "geo", str(tmp_path / "bad"), "--crs", "EPSG:999999"])
    assert exit_info.value.code == 2
