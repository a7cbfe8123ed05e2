"""The blending engine: tiles land where they belong, panels and strips do not change the result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scd_core.geo.blending import Blender
from scd_core.geo.grid import TilePlan, blend_weights
from scd_core.geo.maps import PROB_SCALE


def tile_probabilities(tile, seed: int = 0) -> torch.Tensor:
    """13 channels that depend on the pixel's position and, a little, on the tile that saw it."""
    rows = np.arange(tile.row, tile.row + tile.height)[:, None]
    cols = np.arange(tile.col, tile.col + tile.width)[None, :]
    rng = np.random.default_rng([seed, tile.row, tile.col])
    channels = []
    for k in range(13):
        field = 0.5 + 0.4 * np.sin(rows / (7.0 + k) + k) * np.cos(cols / (11.0 + 2 * k))
        channels.append(field + 0.05 * rng.standard_normal(field.shape))
    return torch.from_numpy(np.clip(np.stack(channels), 0, 1).astype(np.float32))


def blend(plan: TilePlan, threshold: float = 0.5, valid=None):
    blender = Blender(plan, torch.device("cpu"), threshold, num_classes=6, decode="paper")
    maps = {name: np.full((plan.height, plan.width), 99, np.uint8) for name in ("before", "after", "prob")}
    validity = np.zeros((plan.height, plan.width), bool)
    written = np.zeros((plan.height, plan.width), int)
    for tile in plan.tiles():
        tile_valid = (
            np.ones((tile.height, tile.width), bool)
            if valid is None
            else valid[tile.row : tile.row + tile.height, tile.col : tile.col + tile.width]
        )
        region = blender.add(tile, tile_probabilities(tile), torch.from_numpy(tile_valid.copy()))
        if region is not None:
            w = region.window
            where = (slice(w.row_off, w.row_off + w.height), slice(w.col_off, w.col_off + w.width))
            for name in maps:
                maps[name][where] = getattr(region, name)
            validity[where] = region.valid
            written[where] += 1
    assert np.all(written == 1), "every pixel is finalised exactly once"
    return maps, validity


def reference(plan: TilePlan, threshold: float = 0.5):
    """Blending done the obvious way: whole-raster float64 sums of weighted tiles."""
    sums = np.zeros((13, plan.height, plan.width))
    weights = np.zeros((plan.height, plan.width))
    w = blend_weights(plan.tile_height, plan.tile_width, plan.overlap)
    for tile in {(t.row, t.col): t for t in plan.tiles()}.values():
        where = (slice(tile.row, tile.row + tile.height), slice(tile.col, tile.col + tile.width))
        sums[(slice(None), *where)] += tile_probabilities(tile).numpy() * w
        weights[where] += w
    mean = sums / weights
    changed = mean[12] >= threshold
    # where the decision is not a near-tie, half-precision accumulation must not change it
    top2 = [np.sort(mean[lo:hi], axis=0)[-2:] for lo, hi in ((0, 6), (6, 12))]
    clear = (np.abs(mean[12] - threshold) > 0.01) & (top2[0][1] - top2[0][0] > 0.01) & (top2[1][1] - top2[1][0] > 0.01)
    return (mean[:6].argmax(0) + 1) * changed, (mean[6:12].argmax(0) + 1) * changed, mean[12], clear


@pytest.mark.parametrize(("height", "width"), [(260, 420), (420, 200), (90, 100)])
def test_blending_matches_whole_raster_sums(height, width):
    plan = TilePlan.build(height, width, 128, 32)
    maps, validity = blend(plan)
    before, after, prob, clear = reference(plan)
    assert validity.all()
    assert clear.mean() > 0.6
    assert np.array_equal(maps["before"][clear], before[clear])
    assert np.array_equal(maps["after"][clear], after[clear])
    assert np.abs(maps["prob"] / PROB_SCALE - prob).max() < 0.01


def test_panels_and_strips_give_the_same_bytes_as_one_pass():
    one = blend(TilePlan.build(300, 800, 128, 32, max_panel_width=4096))
    panels = blend(TilePlan.build(300, 800, 128, 32, max_panel_width=256))
    for name in one[0]:
        assert np.array_equal(one[0][name], panels[0][name])


def test_validity_is_carried_to_every_pixel():
    height, width = 500, 400
    valid = np.ones((height, width), bool)
    valid[:40] = False
    valid[200:260, 100:390] = False
    _, validity = blend(TilePlan.build(height, width, 128, 32, max_panel_width=256), valid=valid)
    assert np.array_equal(validity, valid)
