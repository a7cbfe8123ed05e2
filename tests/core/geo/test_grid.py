"""Pure pixel geometry: tile windows, panels, blending weights, output windows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from affine import Affine

from scd_core.geo.grid import (
    MIN_RAMP,
    TilePlan,
    blend_ramp,
    blend_weights,
    coverage,
    covering_window,
    pixel_offset,
    split_columns,
    tile_starts,
)


@pytest.mark.parametrize("length", [1, 100, 128, 129, 300, 1000, 1023])
@pytest.mark.parametrize("offset", [0, 7, 64])
def test_tile_starts_cover_everything_inside_with_the_overlap(length, offset):
    tile, overlap = 128, 32
    starts = tile_starts(length, tile, overlap, offset)
    size = min(tile, length)
    covered = np.zeros(length, int)
    for start in starts:
        assert start >= 0 and start + size <= length
        covered[start : start + size] += 1
    assert covered.min() >= 1
    assert starts == sorted(set(starts))
    for a, b in itertools.pairwise(starts):
        assert a + size - b >= overlap  # neighbours share at least the overlap


def test_tile_starts_follow_the_stride_and_end_on_the_edge():
    assert tile_starts(512, 128, 16) == [0, 112, 224, 336, 384]
    assert tile_starts(128, 128, 16) == [0]
    assert tile_starts(50, 128, 16) == [0]


def test_offset_shifts_the_tile_grid():
    assert tile_starts(512, 128, 32, offset=48) == [0, 48, 144, 240, 336, 384]


def test_bad_tile_options_are_refused():
    with pytest.raises(ValueError, match="overlap < tile"):
        tile_starts(100, 64, 64)


def test_blend_ramp_is_smooth_symmetric_positive_and_flat_inside():
    ramp = blend_ramp(128, 32)
    assert np.allclose(ramp, ramp[::-1])
    assert ramp.min() >= MIN_RAMP
    assert np.all(ramp[32:96] == 1)
    assert np.all(np.diff(ramp[:33]) >= 0)
    assert np.all(blend_ramp(64, 0) == 1)


def test_blend_weights_are_the_outer_product_of_ramps():
    weights = blend_weights(64, 96, 16)
    assert weights.shape == (64, 96)
    assert np.allclose(weights, np.outer(blend_ramp(64, 16), blend_ramp(96, 16)))
    assert weights.min() >= MIN_RAMP**2


def test_coverage_is_the_sum_of_the_weights_each_pixel_gets():
    length, tile, overlap = 300, 64, 16
    starts = tile_starts(length, tile, overlap)
    expected = np.zeros(length)
    for start in starts:
        expected[start : start + tile] += blend_ramp(tile, overlap)
    assert np.allclose(coverage(starts, tile, length, overlap), expected)


def test_split_columns_cuts_whole_blocks():
    assert split_columns(1000, 512, 256) == [(0, 512), (512, 1000)]
    assert split_columns(1000, 300, 256) == [(0, 256), (256, 512), (512, 768), (768, 1000)]
    assert split_columns(100, 4096, 256) == [(0, 100)]


def test_plan_panels_compute_every_tile_touching_their_columns():
    plan = TilePlan.build(300, 1000, 128, 32, max_panel_width=256)
    assert [(p.col_lo, p.col_hi) for p in plan.panels] == [(0, 256), (256, 512), (512, 768), (768, 1000)]
    for panel in plan.panels:
        for start in plan.col_starts:
            touches = start < panel.col_hi and start + plan.tile_width > panel.col_lo
            assert (start in panel.tile_cols) == touches
    tiles = list(plan.tiles())
    assert len(tiles) == len(plan)
    assert [t.panel for t in tiles] == sorted(t.panel for t in tiles)  # panel after panel, rows inside


def test_plan_of_a_small_raster_is_one_tile_of_its_size():
    plan = TilePlan.build(40, 70, 128, 16)
    assert [(t.row, t.col, t.height, t.width) for t in plan.tiles()] == [(0, 0, 40, 70)]


def test_covering_window_rounds_outwards_and_clips():
    transform = Affine(10, 0, 1000, 0, -10, 2000)  # 100 × 100 px
    window = covering_window(transform, 100, 100, [(1015, 1500, 1101, 1985)])
    assert (window.col_off, window.row_off, window.width, window.height) == (1, 1, 10, 49)
    on_edges = covering_window(transform, 100, 100, [(1010, 1500, 1100, 1990)])
    assert (on_edges.col_off, on_edges.row_off, on_edges.width, on_edges.height) == (1, 1, 9, 49)
    assert covering_window(transform, 100, 100, [(0, 0, 500, 500)]) is None
    clipped = covering_window(transform, 100, 100, [(0, 0, 5000, 5000)])
    assert (clipped.col_off, clipped.row_off, clipped.width, clipped.height) == (0, 0, 100, 100)


def test_pixel_offset_only_for_whole_pixel_shifts_of_the_same_pixel_size():
    grid = Affine(10, 0, 1000, 0, -10, 2000)
    assert pixel_offset(grid, Affine(10, 0, 980, 0, -10, 2030)) == (2, 3)
    assert pixel_offset(grid, Affine(10, 0, 985, 0, -10, 2030)) is None
    assert pixel_offset(grid, Affine(5, 0, 1000, 0, -5, 2000)) is None
