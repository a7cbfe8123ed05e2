"""Parcels: the street grid's cells, kept clear of rivers, and what each holds on the first date.

A parcel's use is drawn first for the uses every scene must show (scaled to its area), then at random
after the urban field: built up where it is high, open where it is low.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from scd_core.synth.builders import (
    draw_buildings,
    draw_courts,
    draw_grove,
    draw_patch,
    draw_pond,
    draw_scattered_trees,
)
from scd_core.synth.geometry import Box
from scd_core.synth.ground import Ground, River, Roads
from scd_core.synth.items import Item

#: Scene area, in pixels, for which the counts of guaranteed parcel uses below are meant.
REFERENCE_AREA = 512 * 512


@dataclass
class Parcel:
    """A cell of the street grid and what it holds on each date."""

    box: Box
    use: str
    vegetated: bool  # is the ground at its centre low vegetation
    inside: bool  # is its centre inside the scene
    items: Sequence[Item]
    items_after: Sequence[Item]
    rebuilt: list[Box] = field(default_factory=list)
    changed: bool = False


def away_from(rivers: Sequence[River], parcels: list[Box]) -> list[Box]:
    """Parcels clear of every river: a river runs through open land."""
    if not rivers or not parcels:
        return parcels
    ys = np.array([p.cy for p in parcels], np.float32)
    xs = np.array([p.cx for p in parcels], np.float32)
    reach = np.array([math.hypot(p.half_length, p.half_width) + 4 for p in parcels], np.float32)
    clear = np.logical_and.reduce([river.distance_at(ys, xs) > reach for river in rivers])
    return [parcel for parcel, keep in zip(parcels, clear.tolist(), strict=True) if keep]


def draw_street_grid(rng: np.random.Generator, height: int, width: int) -> tuple[Roads, list[Box]]:
    """Roads every 2-3 parcels in both directions of a rotated grid, and the parcels' usable boxes."""
    angle = rng.uniform(0, math.pi / 2)
    cos, sin = math.cos(angle), math.sin(angle)
    pitch_u, pitch_v = rng.uniform(56, 92, 2)
    every_u, every_v = rng.integers(2, 4, 2)
    phase_u, phase_v = rng.uniform(0, pitch_u), rng.uniform(0, pitch_v)
    half_width = rng.uniform(3.5, 7)
    roads = Roads(cos, sin, pitch_u * every_u, pitch_v * every_v, phase_u, phase_v, half_width)
    corners_u = [x * cos + y * sin for x in (0, width) for y in (0, height)]
    corners_v = [y * cos - x * sin for x in (0, width) for y in (0, height)]
    inset = half_width + 2.5
    parcels = []
    for i in range(math.floor((min(corners_u) - phase_u) / pitch_u), math.ceil((max(corners_u) - phase_u) / pitch_u)):
        for j in range(
            math.floor((min(corners_v) - phase_v) / pitch_v), math.ceil((max(corners_v) - phase_v) / pitch_v)
        ):
            u, v = phase_u + (i + 0.5) * pitch_u, phase_v + (j + 0.5) * pitch_v
            x, y = u * cos - v * sin, u * sin + v * cos
            if -pitch_u / 3 < x < width + pitch_u / 3 and -pitch_v / 3 < y < height + pitch_v / 3:
                parcels.append(Box(x, y, pitch_u / 2 - inset, pitch_v / 2 - inset, cos, sin))
    return roads, parcels


#: Parcel uses guaranteed per 512×512 of scene (before the random rest), so that every class and every
#: change has something to act on.
_GUARANTEED_USES = (("buildings", 3), ("trees", 2), ("courts", 1), ("bare", 2), ("open", 3))


def furnish(
    rng: np.random.Generator, boxes: list[Box], ground: Ground, size: tuple[int, int], has_river: bool
) -> list[Parcel]:
    """Decide each parcel's use on the first date and fill it."""
    height, width = size
    area_scale = height * width / REFERENCE_AREA
    # Guaranteed uses go to parcels centred inside the scene first, so that they are seen.
    inside = np.array([0 <= b.cx < width and 0 <= b.cy < height for b in boxes], bool)
    order = np.concatenate([rng.permutation(np.flatnonzero(inside)), rng.permutation(np.flatnonzero(~inside))])
    guaranteed = [use for use, count in _GUARANTEED_USES for _ in range(math.ceil(count * area_scale))]
    guaranteed += ["pond"] * math.ceil((0 if has_river else 1) * area_scale)
    guaranteed += ["courts"] * int(rng.random() < 0.5)
    # Scenes have more parcels than guaranteed uses, or, when tiny, fewer: the surplus goes unused.
    uses: dict[int, str] = dict(zip(order.tolist(), guaranteed, strict=False))
    centres_y = np.array([b.cy for b in boxes], np.float32)
    centres_x = np.array([b.cx for b in boxes], np.float32)
    urban = 0.5 + 0.5 * ground.urban.at(centres_y, centres_x) if boxes else np.zeros(0)
    vegetated = ground.vegetated_at(centres_y, centres_x) if boxes else np.zeros(0, bool)
    # The rest at random, built-up where the urban field is high, open where it is low.
    kinds = ("buildings", "trees", "open", "bare", "courts", "pond")
    weights = np.stack(
        [0.15 + 0.6 * urban, np.full_like(urban, 0.15), 0.1 + 0.3 * (1 - urban)]
        + [np.full_like(urban, w) for w in (0.1, 0.02, 0.03)],
        axis=1,
    )
    cumulative = np.cumsum(weights, axis=1)
    drawn = (cumulative < rng.uniform(0, 1, (len(boxes), 1)) * cumulative[:, -1:]).sum(axis=1)
    for number, kind in enumerate(drawn.tolist()):
        uses.setdefault(number, kinds[kind])
    parcels = []
    for number, box in enumerate(boxes):
        items = _contents(rng, uses[number], box, ground)
        parcels.append(Parcel(box, uses[number], bool(vegetated[number]), bool(inside[number]), items, items))
    return parcels


def _contents(rng: np.random.Generator, use: str, box: Box, ground: Ground) -> Sequence[Item]:
    """The items of a parcel of ``use`` on the first date (open ground may hold a few trees)."""
    if use == "buildings":
        return draw_buildings(rng, box)
    if use == "trees":
        return draw_grove(rng, box)
    if use == "courts":
        return draw_courts(rng, box)
    if use == "pond":
        return draw_pond(rng, box, ground.shore)
    if use == "bare":
        return draw_patch(rng, box, lawn=False)
    return draw_scattered_trees(rng, box)
