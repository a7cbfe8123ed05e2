"""What a parcel holds, drawn from the plan's random stream: buildings, trees, courts, a pond, a patch.

Each builder fills a parcel's box with items of :mod:`scd_core.synth.items`, aligned with it and kept
inside it, so that changing a parcel changes only it. Builders draw in a fixed order from the stream
they are given: the order of calls is part of what a seed means.
"""

from __future__ import annotations

import math

import numpy as np

from scd_core.synth.fields import Lattice
from scd_core.synth.geometry import Box
from scd_core.synth.items import Building, Clump, Court, Patch, Pond

_ROOFS = (
    (158, 156, 150),
    (196, 194, 188),
    (120, 122, 126),
    (176, 88, 74),
    (196, 102, 92),
    (84, 118, 158),
    (118, 150, 176),
    (206, 210, 214),
    (150, 120, 96),
)
_COURT_COLOURS = (  # (surface, surround)
    ((172, 78, 64), (72, 128, 86)),
    ((70, 136, 92), (166, 86, 66)),
    ((62, 98, 150), (76, 134, 96)),
    ((92, 146, 88), (92, 146, 88)),
)


def _roof(rng: np.random.Generator) -> tuple[float, float, float]:
    base = np.asarray(_ROOFS[rng.integers(len(_ROOFS))], np.float64) * rng.uniform(0.9, 1.1)
    red, green, blue = (float(c) for c in np.clip(base + rng.uniform(-8, 8, 3), 20, 250))
    return red, green, blue


def draw_buildings(rng: np.random.Generator, parcel: Box) -> list[Building]:
    """Residential slabs, an industrial hall or a few houses, aligned with the parcel."""
    length, width = parcel.half_length, parcel.half_width
    style = rng.choice(("slabs", "hall", "houses"), p=(0.45, 0.3, 0.25))
    if style == "hall":
        box = parcel.sub(
            rng.uniform(-2, 2), rng.uniform(-2, 2), length * rng.uniform(0.7, 0.95), width * rng.uniform(0.55, 0.92)
        )
        return [Building(box, rng.uniform(10, 24), _roof(rng), str(rng.choice(("ribbed", "flat", "gabled"))))]
    if style == "slabs":
        count = max(1, min(4, int(2 * width / rng.uniform(18, 30))))
        pitch = 2 * width / count
        half_length = length * rng.uniform(0.6, 0.92)
        half_width = min(pitch * rng.uniform(0.25, 0.38), 14)
        roof, height = _roof(rng), rng.uniform(16, 40)
        return [
            Building(parcel.sub(0, -width + pitch * (k + 0.5), half_length, half_width), height, roof, "flat")
            for k in range(count)
        ]
    columns, rows = max(1, int(length / 14)), max(1, int(width / 14))
    result = []
    for i in range(columns):
        for j in range(rows):
            if rng.random() < 0.25:
                continue
            along = -length + (2 * length / columns) * (i + 0.5)
            across = -width + (2 * width / rows) * (j + 0.5)
            size = min(length / columns, width / rows)
            box = parcel.sub(along, across, size * rng.uniform(0.55, 0.8), size * rng.uniform(0.45, 0.7))
            result.append(Building(box, rng.uniform(8, 16), _roof(rng), str(rng.choice(("gabled", "flat")))))
    return result


def _trees(rng: np.random.Generator, parcel: Box, density: float, radii: tuple[float, float]) -> list[Clump]:
    """Crowns scattered over the parcel, kept inside it so that changing a parcel changes only it."""
    area = 4 * parcel.half_length * parcel.half_width
    count = max(1, int(area * density / (math.pi * (sum(radii) / 2) ** 2)))
    radius = rng.uniform(*radii, count)
    along = rng.uniform(-1, 1, count) * np.maximum(parcel.half_length - radius, 0)
    across = rng.uniform(-1, 1, count) * np.maximum(parcel.half_width - radius, 0)
    cx = parcel.cx + along * parcel.cos - across * parcel.sin
    cy = parcel.cy + along * parcel.sin + across * parcel.cos
    height = float(radius.mean()) * rng.uniform(1.8, 2.6)
    return [Clump(cx.astype(np.float32), cy.astype(np.float32), radius.astype(np.float32), height)]


def draw_grove(rng: np.random.Generator, parcel: Box) -> list[Clump]:
    """Mature trees, dense, over most of the parcel."""
    inner = parcel.sub(0, 0, parcel.half_length * rng.uniform(0.7, 1), parcel.half_width * rng.uniform(0.7, 1))
    return _trees(rng, inner, rng.uniform(0.9, 1.3), (5.0, 10.0))


def draw_young_trees(rng: np.random.Generator, parcel: Box) -> list[Clump]:
    """Trees planted between the dates: smaller crowns, further apart."""
    return _trees(rng, parcel, rng.uniform(0.5, 0.8), (3.5, 5.5))


def draw_courts(rng: np.random.Generator, parcel: Box) -> list[Court]:
    """One pitch, or up to three courts side by side."""
    surface, surround = _COURT_COLOURS[rng.integers(len(_COURT_COLOURS))]
    if rng.random() < 0.35:
        box = parcel.sub(0, 0, parcel.half_length * 0.92, parcel.half_width * 0.88)
        return [Court(box, surface, surround, 3.0, min(box.half_width * 0.3, 9))]
    count = int(rng.integers(1, 4))
    pitch = 2 * parcel.half_length / count
    half_width = min(parcel.half_width * rng.uniform(0.6, 0.9), 16)
    return [
        Court(
            parcel.sub(-parcel.half_length + pitch * (k + 0.5), 0, pitch * 0.45, half_width),
            surface,
            surround,
            3.0,
            0.0,
        )
        for k in range(count)
    ]


def draw_pond(rng: np.random.Generator, parcel: Box, shore: Lattice) -> list[Pond]:
    """A pond filling much of the parcel, its shore wobbling after ``shore``."""
    box = parcel.sub(
        rng.uniform(-3, 3),
        rng.uniform(-3, 3),
        parcel.half_length * rng.uniform(0.55, 0.8),
        parcel.half_width * rng.uniform(0.55, 0.8),
    )
    return [Pond(box, shore, min(box.half_width, box.half_length) * 0.18)]


def draw_patch(rng: np.random.Generator, parcel: Box, lawn: bool) -> list[Patch]:
    """Bare soil (a construction site, a tilled field) or, if ``lawn``, a mown lawn over the parcel."""
    return [
        Patch(
            parcel.sub(0, 0, parcel.half_length * rng.uniform(0.75, 1), parcel.half_width * rng.uniform(0.75, 1)), lawn
        )
    ]


def draw_scattered_trees(rng: np.random.Generator, parcel: Box) -> list[Clump]:
    """Open ground: empty, or with a few trees scattered over it (one parcel in two)."""
    return _trees(rng, parcel, rng.uniform(0.05, 0.2), (4.0, 8.0)) if rng.random() < 0.5 else []
