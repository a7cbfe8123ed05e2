"""Changes between the dates: what becomes of the parcels that change, as cities change.

Each kind of change acts on parcels of given first-date uses and gives their second-date items:
vegetation built over, ponds dug and filled, trees cleared or planted, buildings demolished or
demolished and rebuilt, courts laid out or built over.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from scd_core.synth.builders import draw_buildings, draw_courts, draw_patch, draw_pond, draw_young_trees
from scd_core.synth.ground import Ground
from scd_core.synth.items import Building, Item, Patch
from scd_core.synth.parcels import Parcel

#: What a change makes of a parcel: its second-date items.
Change = Callable[[np.random.Generator, Parcel, Ground], Sequence[Item]]


def _new_building(rng: np.random.Generator, parcel: Parcel, ground: Ground) -> Sequence[Item]:
    """Low vegetation (or a construction site) → building."""
    return draw_buildings(rng, parcel.box)


def _rebuild(rng: np.random.Generator, parcel: Parcel, ground: Ground) -> Sequence[Item]:
    """Building → building: SECOND labels it although the class stays."""
    parcel.rebuilt = [item.box for item in parcel.items if isinstance(item, Building)]
    return draw_buildings(rng, parcel.box)


def _dig_pond(rng: np.random.Generator, parcel: Parcel, ground: Ground) -> Sequence[Item]:
    """Ground → water, in a construction site or open ground (trees felled)."""
    return [item for item in parcel.items if isinstance(item, Patch)] + draw_pond(rng, parcel.box, ground.shore)


def _to_bare_ground(rng: np.random.Generator, parcel: Parcel, ground: Ground) -> Sequence[Item]:
    """Demolition, clearing trees or vegetation, filling a pond."""
    return draw_patch(rng, parcel.box, lawn=False)


def _green(rng: np.random.Generator, parcel: Parcel, ground: Ground) -> Sequence[Item]:
    """Ground → low vegetation."""
    return draw_patch(rng, parcel.box, lawn=True)


def _plant(rng: np.random.Generator, parcel: Parcel, ground: Ground) -> Sequence[Item]:
    """Low vegetation → tree."""
    return draw_young_trees(rng, parcel.box)


def _lay_out_courts(rng: np.random.Generator, parcel: Parcel, ground: Ground) -> Sequence[Item]:
    """Ground / low vegetation → playground."""
    return draw_courts(rng, parcel.box)


@dataclass(frozen=True)
class _ChangeKind:
    """A kind of change: what it makes of a parcel, and which first-date parcels, as (use, vegetated)
    pairs with None matching either, it may act on."""

    make: Change
    sources: tuple[tuple[str, bool | None], ...]


_CHANGES = (
    _ChangeKind(_new_building, (("open", True), ("bare", None))),
    _ChangeKind(_rebuild, (("buildings", None),)),
    _ChangeKind(_to_bare_ground, (("buildings", None),)),
    _ChangeKind(_to_bare_ground, (("trees", None),)),
    _ChangeKind(_dig_pond, (("bare", None), ("open", False))),
    _ChangeKind(_to_bare_ground, (("pond", None),)),
    _ChangeKind(_green, (("bare", None),)),
    _ChangeKind(_plant, (("open", True),)),
    _ChangeKind(_lay_out_courts, (("bare", None), ("open", None))),
    _ChangeKind(_new_building, (("courts", None),)),
    _ChangeKind(_to_bare_ground, (("open", True),)),
)


def draw_changes(
    rng: np.random.Generator, parcels: list[Parcel], ground: Ground, has_river: bool, area_scale: float
) -> None:
    """Change 18-32 % of the parcels (at least a few per 512×512), cycling through every kind of change.

    Parcels centred inside the scene are changed first, so that changes are seen even in small
    scenes. The last unchanged parcel inside the scene of trees, of courts and (without a river) of
    ponds is never taken, so that every class still occurs on the second date.
    """
    pools = _pools(parcels)
    protected = {"trees", "courts"} | (set() if has_river else {"pond"})
    wanted = max(math.ceil(6 * area_scale), round(len(parcels) * rng.uniform(0.18, 0.32)))
    done = 0
    while done < wanted:
        before = done
        for position in rng.permutation(len(_CHANGES)):
            kind = _CHANGES[position]
            use = kind.sources[0][0]
            if use in protected and len(pools.get((use, True, True), [])) + len(pools.get((use, False, True), [])) <= 1:
                continue
            parcel = _take(rng, _eligible(pools, kind, inside=True)) or _take(rng, _eligible(pools, kind, inside=False))
            if parcel is None:
                continue
            parcel.items_after = kind.make(rng, parcel, ground)
            parcel.changed = True
            done += 1
            if done >= wanted:
                return
        if done == before:
            return


def _pools(parcels: list[Parcel]) -> dict[tuple[str, bool, bool], list[Parcel]]:
    """Parcels by (use, vegetated, inside the scene): the pools changes draw from."""
    pools: dict[tuple[str, bool, bool], list[Parcel]] = {}
    for parcel in parcels:
        pools.setdefault((parcel.use, parcel.vegetated, parcel.inside), []).append(parcel)
    return pools


def _eligible(pools: dict[tuple[str, bool, bool], list[Parcel]], kind: _ChangeKind, inside: bool) -> list[list[Parcel]]:
    """The pools of unchanged parcels that ``kind`` may act on, inside the scene or not."""
    return [
        pools.get((use, wet, inside), [])
        for use, vegetated in kind.sources
        for wet in (True, False)
        if vegetated in (None, wet)
    ]


def _take(rng: np.random.Generator, pools: list[list[Parcel]]) -> Parcel | None:
    """Remove and return a random parcel of ``pools`` (None if all are empty)."""
    pick = int(rng.integers(sum(len(pool) for pool in pools) or 1))
    for pool in pools:
        if pick < len(pool):
            pool[pick], pool[-1] = pool[-1], pool[pick]
            return pool.pop()
        pick -= len(pool)
    return None
