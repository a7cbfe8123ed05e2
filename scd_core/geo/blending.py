"""Blending overlapping tiles into finished rows of class maps, and how probabilities are stored.

A model's outputs for one tile become ``2N + 1`` probability channels (N land-cover classes of each
date, softmax; one change probability, sigmoid; :func:`tile_probabilities`). :class:`Blender` adds
them, weighted by :func:`~scd_core.geo.grid.blend_weights`, into the accumulator of the current panel
and, once a tile row is done, decodes every finished row into a :class:`Region`: the per-date class
maps (0 where the change probability is below τ, else a class 1..N) and the change probability, all
uint8.

Where change is declared (p_change ≥ τ, eq. 1 of the ASN paper), the two classes are read in one of
two ways (``--decode``):

* ``paper``: each date's arg-max, eq. (1) / eq. (12). The change head and the semantic heads are
  separate, so the change head may declare a change where both dates' arg-max agree: a "change"
  from a class to itself, which on real imagery can be most of the changed pixels. ``scd evaluate``
  and training keep this reading, so their scores are the paper's.
* ``distinct`` (the default): a declared change is read as a change between two different classes,
  the most probable such pair under independent dates, argmax over i ≠ j of p1(i)·p2(j). It is exact
  and cheap: when the two arg-maxes differ they are the pair; when they agree (class k) the best pair
  keeps k on one date, since any pair without k scores at most p1(2nd)·p2(k), so it is the better of
  (k, 2nd-best of date 2) and (2nd-best of date 1, k). Where the arg-maxes differ, both readings agree.
  A model of one class has no two classes to tell apart: both readings are the same.

A change-only model (checkpoint task ``change``) is a model of one class, "change": the softmax of
its semantic heads over one class is 1 whatever they output, so its maps are P(change) ≥ τ alone,
read by the change head, and its untrained semantic heads never sway a pixel.

Change probabilities are stored as ``round(p × PROB_SCALE)`` (255 is nodata), so the map keeps
steps of 0.004 in a byte. The scale and the :class:`~scd_core.geo.maps.Region` live with the maps
(:mod:`.maps`), which vectorising and the reports read without torch.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from rasterio.windows import Window

from scd_core.geo.grid import BLOCK, Panel, Tile, TilePlan, blend_weights, coverage
from scd_core.geo.maps import PROB_SCALE, Region

#: Finished rows are decoded this many columns at a time (bounds the float32 working copy).
DECODE_COLUMNS = 512


def _runner_up(probabilities: torch.Tensor, best: torch.Tensor) -> torch.return_types.max:
    """The second most probable class of each pixel of n×h×w ``probabilities``, whose most probable
    is ``best`` (h×w): the maximum once ``best`` is set below every probability."""
    return probabilities.scatter(0, best[None], -1.0).max(0)


def tile_probabilities(outputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """B×(2N+1)×H×W float32 probabilities of a model's outputs: ``[softmax(sem1), softmax(sem2),
    sigmoid(change)]``."""
    sem1 = outputs["sem1"].float().softmax(1)
    sem2 = outputs["sem2"].float().softmax(1)
    change = torch.sigmoid(outputs["change"].float())
    return torch.cat([sem1, sem2, change], dim=1)


class Blender:
    """Weighted sums of tile probabilities over one panel, decoded into finished regions row by row."""

    def __init__(self, plan: TilePlan, device: torch.device, threshold: float, num_classes: int, decode: str) -> None:
        """``decode``: ``"distinct"`` or ``"paper"`` (see the module docstring)."""
        self.plan, self.device, self.threshold, self.num_classes = plan, device, threshold, num_classes
        self.distinct = decode == "distinct" and num_classes > 1
        self.weights = torch.from_numpy(blend_weights(plan.tile_height, plan.tile_width, plan.overlap)).to(device)
        self.row_total = torch.from_numpy(coverage(plan.row_starts, plan.tile_height, plan.height, plan.overlap)).to(
            device
        )
        self.col_total = torch.from_numpy(coverage(plan.col_starts, plan.tile_width, plan.width, plan.overlap)).to(
            device
        )
        self.rows = plan.tile_height + BLOCK
        # One accumulator, as wide as the widest panel, serves every panel in turn (no reallocation).
        widest = max(plan.panel_span(panel) for panel in plan.panels)
        channels = 2 * num_classes + 1
        self._sum_buffer = torch.empty((channels, self.rows, widest), dtype=torch.float16, device=device)
        self._valid_buffer = torch.empty((self.rows, widest), dtype=torch.bool, device=device)
        self.panel_index = -1
        self.sums = self._sum_buffer
        self.valid = self._valid_buffer
        self.top = 0  # output row of the accumulator's first row

    def _start(self, index: int) -> Panel:
        panel = self.plan.panels[index]
        span = self.plan.panel_span(panel)
        self.sums, self.valid = self._sum_buffer[:, :, :span], self._valid_buffer[:, :span]
        self.sums.zero_()
        self.valid.fill_(True)
        self.panel_index, self.top = index, 0
        return panel

    def add(self, tile: Tile, probabilities: torch.Tensor, valid: torch.Tensor) -> Region | None:
        """Blend one tile's (2N+1)×h×w probabilities (sem1, sem2, change); return the rows it finished."""
        panel = self.plan.panels[tile.panel] if tile.panel == self.panel_index else self._start(tile.panel)
        r, c = tile.row - self.top, tile.col - panel.x0
        rows, cols = slice(r, r + tile.height), slice(c, c + tile.width)
        self.sums[:, rows, cols] += (probabilities * self.weights).to(self.sums.dtype)
        self.valid[rows, cols] &= valid
        if tile.col != panel.tile_cols[-1]:
            return None
        final = self.plan.rows_final_after(tile.row_index)
        end = final if final == self.plan.height else final // BLOCK * BLOCK
        if end <= self.top:
            return None
        region = self._decode(panel, end)
        self._drop_rows(end - self.top)
        self.top = end
        return region

    def _drop_rows(self, shift: int) -> None:
        """Move the accumulator up by ``shift`` finished rows, in place: each copy moves at most
        ``shift`` rows, so its source and destination never overlap and no second accumulator is made."""
        keep = self.rows - shift
        for lo in range(0, keep, shift):
            hi = min(lo + shift, keep)
            self.sums[:, lo:hi] = self.sums[:, lo + shift : hi + shift]
            self.valid[lo:hi] = self.valid[lo + shift : hi + shift]
        self.sums[:, keep:] = 0
        self.valid[keep:] = True

    def _decode(self, panel: Panel, end: int) -> Region:
        """Class maps of the finished rows, decoded ``DECODE_COLUMNS`` columns at a time so that the
        float32 means never cost more than a small slice of the panel."""
        height, x0, n = end - self.top, panel.x0, self.num_classes
        maps = np.empty((3, height, panel.col_hi - panel.col_lo), np.uint8)
        for lo in range(panel.col_lo, panel.col_hi, DECODE_COLUMNS):
            hi = min(lo + DECODE_COLUMNS, panel.col_hi)
            total = self.row_total[self.top : end, None] * self.col_total[None, lo:hi]
            mean = self.sums[:, :height, lo - x0 : hi - x0].float() / total
            changed = mean[2 * n] >= self.threshold  # eq. 1
            # max(0) gives argmax(0) (first maximum on ties), and is faster on a CPU across channels
            first, second = mean[0:n].max(0), mean[n : 2 * n].max(0)
            before, after = first.indices, second.indices
            if self.distinct:
                runner1, runner2 = _runner_up(mean[0:n], before), _runner_up(mean[n : 2 * n], after)
                keep_first = first.values * runner2.values >= runner1.values * second.values
                same = before == after
                before = torch.where(same & ~keep_first, runner1.indices, before)
                after = torch.where(same & keep_first, runner2.indices, after)
            before, after = (before + 1) * changed, (after + 1) * changed
            prob = torch.round(mean[2 * n].clamp(0, 1) * PROB_SCALE)
            chunk = torch.stack([before, after, prob.to(before.dtype)]).to(torch.uint8)
            maps[:, :, lo - panel.col_lo : hi - panel.col_lo] = chunk.cpu().numpy()
        window = Window(panel.col_lo, self.top, panel.col_hi - panel.col_lo, height)
        cols = slice(panel.col_lo - x0, panel.col_hi - x0)
        valid = self.valid[:height, cols].to("cpu", copy=True).numpy()  # a copy: the accumulator moves on
        return Region(window, maps[0], maps[1], maps[2], valid)
