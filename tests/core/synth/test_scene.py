"""Scenes in memory (:func:`scd_core.synth.make_scene`): deterministic, every class and the changes
SECOND annotates, labels that agree with the land cover, pseudo-changes that stay unlabelled."""

from __future__ import annotations

import numpy as np
import pytest
from synth_testing import ARRAYS, BUILDING, GROUND, LOW_VEGETATION, PLAYGROUND, TREE, WATER

from scd_core.labels import NUM_CLASSES, change_code
from scd_core.synth import make_scene

SEEDS = range(6)
ALL_CLASSES = set(range(1, NUM_CLASSES + 1))


@pytest.fixture(scope="module")
def scenes():
    return [make_scene(512, seed) for seed in SEEDS]


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
    ("before", "after"),
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


def test_a_scene_without_pixels_is_refused():
    with pytest.raises(ValueError, match="positive"):
        make_scene((0, 10))
