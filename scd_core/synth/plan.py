"""The plan of a scene: everything random about it, drawn from the seed before a pixel is rendered.

Looks, misregistration, ground, street grid, rivers, parcels and their changes are drawn in this
order from one stream: the order is part of what a seed means. The items of each date are then
indexed by where they reach, so that a tile finds the few it meets among thousands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scd_core.synth.changes import draw_changes
from scd_core.synth.geometry import Extent
from scd_core.synth.ground import Ground, River, Roads, draw_ground, draw_river
from scd_core.synth.items import Building, Clump, Court, Item, Patch, Pond
from scd_core.synth.looks import Look, draw_looks
from scd_core.synth.parcels import REFERENCE_AREA, away_from, draw_street_grid, furnish
from scd_core.synth.randomness import random_stream


class SpatialIndex:
    """Things bucketed by their extents, so that a tile finds the few it meets among thousands."""

    BUCKET = 128

    def __init__(self, items: Sequence, extents: Sequence[Extent]) -> None:
        self.items = items
        self.extents = extents
        self.buckets: dict[tuple[int, int], list[int]] = {}
        for number, (top, bottom, left, right) in enumerate(self.extents):
            for row in range(math.floor(top / self.BUCKET), math.floor(bottom / self.BUCKET) + 1):
                for col in range(math.floor(left / self.BUCKET), math.floor(right / self.BUCKET) + 1):
                    self.buckets.setdefault((row, col), []).append(number)

    def query(self, extent: Extent) -> list:
        """Items whose extents meet ``extent``, in their original order (the painting order)."""
        top, bottom, left, right = extent
        found: set[int] = set()
        for row in range(math.floor(top / self.BUCKET), math.floor(bottom / self.BUCKET) + 1):
            for col in range(math.floor(left / self.BUCKET), math.floor(right / self.BUCKET) + 1):
                found.update(self.buckets.get((row, col), ()))
        return [
            self.items[number]
            for number in sorted(found)
            if self.extents[number][0] < bottom
            and self.extents[number][1] > top
            and self.extents[number][2] < right
            and self.extents[number][3] > left
        ]


_PAINT_ORDER = (Patch, Pond, Court, Clump, Building)


def _item_index(items: list[Item], shadow_reach: float) -> SpatialIndex:
    """One date's items in painting order, indexed by their extents (shadows included)."""
    items = sorted(items, key=lambda item: _PAINT_ORDER.index(type(item)))
    return SpatialIndex(items, [item.extent(shadow_reach) for item in items])


@dataclass(frozen=True)
class Plan:
    """Everything random about a scene, drawn before a single pixel is rendered."""

    seed: int
    height: int
    width: int
    looks: tuple[Look, Look]
    misregistration: tuple[float, float]
    ground: Ground
    roads: Roads
    rivers: tuple[River, ...]
    indexes: tuple[SpatialIndex, SpatialIndex]
    changed: SpatialIndex  # extents of the changed parcels: the second date's land cover differs only there
    rebuilt: SpatialIndex  # footprints of buildings demolished and rebuilt (5 → 5)


def draw_plan(height: int, width: int, seed: int) -> Plan:
    """The plan of a ``height`` × ``width`` scene drawn with ``seed``."""
    rng = random_stream(seed, 0)
    looks = draw_looks(rng)
    angle = rng.uniform(0, 2 * math.pi)
    magnitude = rng.uniform(0.3, 1.8)
    misregistration = (magnitude * math.cos(angle), magnitude * math.sin(angle))
    ground = draw_ground(rng, height, width)
    roads, boxes = draw_street_grid(rng, height, width)
    area_scale = height * width / REFERENCE_AREA
    rivers = tuple(draw_river(rng, height, width) for _ in range(rng.poisson(0.55 * math.sqrt(area_scale))))
    boxes = away_from(rivers, boxes)
    parcels = furnish(rng, boxes, ground, (height, width), has_river=bool(rivers))
    draw_changes(rng, parcels, ground, has_river=bool(rivers), area_scale=area_scale)
    shadow_reach = max(look.shadow_length for look in looks)
    first = [item for parcel in parcels for item in parcel.items]
    second = [item for parcel in parcels for item in parcel.items_after]
    changed = [parcel.box.extent(3) for parcel in parcels if parcel.changed]
    rebuilt = [box for parcel in parcels for box in parcel.rebuilt]
    return Plan(
        seed=seed,
        height=height,
        width=width,
        looks=looks,
        misregistration=misregistration,
        ground=ground,
        roads=roads,
        rivers=rivers,
        indexes=(_item_index(first, shadow_reach), _item_index(second, shadow_reach)),
        changed=SpatialIndex(changed, changed),
        rebuilt=SpatialIndex(rebuilt, [box.extent(1) for box in rebuilt]),
    )
