"""Rendering a plan, tile by tile: both dates' images, both land covers, and where they changed.

Each tile is a view of the scene, shifted by the misregistration for the second date. The ground is
painted first (soil, vegetation, rivers, roads), then the items the tile meets, then light and
sensor noise. The second date's land cover is the first's, repainted only where a parcel changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from scd_core.labels import NO_CHANGE
from scd_core.synth.geometry import View
from scd_core.synth.items import GROUND, LOW_VEGETATION, WATER, Building, Canvas, Clump, Item
from scd_core.synth.looks import Look
from scd_core.synth.painting import blend, coverage
from scd_core.synth.plan import Plan
from scd_core.synth.randomness import random_stream, sensor_noise

#: Side of the square tiles a scene is rendered in: small enough for a tile's temporaries to stay in
#: the CPU's cache and memory to stay bounded on large scenes, large enough that few shapes straddle
#: tiles. Fixed, because each tile's sensor noise has its own random stream.
TILE = 256
#: Bytes of one block allocated and freed before rendering: see :func:`_reuse_freed_memory`.
_ALLOCATOR_WARM_UP = 8 << 20


@dataclass
class Tile:
    """One rendered tile of a scene."""

    rows: slice
    cols: slice
    image1: np.ndarray  # 3×h×w float grey levels, 0-255 before quantisation
    image2: np.ndarray
    cover1: np.ndarray
    cover2: np.ndarray
    changed: np.ndarray

    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        """SECOND's per-date labels: the class where the land cover changed, 0 elsewhere."""
        no_change = np.uint8(NO_CHANGE)
        return np.where(self.changed, self.cover1, no_change), np.where(self.changed, self.cover2, no_change)


def _reuse_freed_memory() -> None:
    """Make the C allocator keep freed tile-sized blocks for reuse.

    glibc maps each large block afresh and unmaps it when freed, until freeing a mapped block raises
    its thresholds to that block's size (mallopt(3), dynamic mmap threshold): blocks up to that size
    then come from, and go back to, the heap. Rendering allocates and frees tile-sized temporaries by
    the thousand, and faulting a fresh mapping in page by page costs more than the arithmetic on it.
    One block larger than any temporary, allocated and freed here, raises the thresholds once; on
    other allocators it is merely an allocation.
    """
    np.empty(_ALLOCATOR_WARM_UP, np.uint8)


def render(plan: Plan) -> Iterator[Tile]:
    """Render the scene tile by tile, row by row: both images, both land covers, where they changed."""
    _reuse_freed_memory()
    canopies: dict = {}  # a tree clump spans tiles: shade it once, keep it while rows still need it
    for row0 in range(0, plan.height, TILE):
        for key in [key for key, shaded in canopies.items() if shaded[0].row0 + shaded[0].shape[0] < row0]:
            del canopies[key]
        for col0 in range(0, plan.width, TILE):
            rows = slice(row0, min(row0 + TILE, plan.height))
            cols = slice(col0, min(col0 + TILE, plan.width))
            here = View.of(rows.start, rows.stop, cols.start, cols.stop)
            there = View.of(rows.start, rows.stop, cols.start, cols.stop, plan.misregistration)
            layout = _Layout.of(plan, here)
            ground = layout.cover()
            cover1 = ground.copy()
            image1 = _paint(plan, 0, here, layout, canopies, cover1)
            image2 = _paint(plan, 1, there, _Layout.of(plan, there), canopies, None)
            cover2 = _second_cover(plan, here, cover1, ground)
            changed = np.not_equal(cover1, cover2)
            _mark_rebuilt(plan, here, changed)
            yield Tile(
                rows, cols, _finish(plan, 0, here, image1), _finish(plan, 1, here, image2), cover1, cover2, changed
            )


def _paint(
    plan: Plan, date: int, view: View, layout: _Layout, canopies: dict | None, cover: np.ndarray | None
) -> np.ndarray:
    """Image of one date over ``view`` and, if given the ground ``cover``, its land cover painted on it
    in place: ground, rivers, roads, then the parcels' contents."""
    look = plan.looks[date]
    grain = plan.ground.grain.grid(view.ys, view.xs)
    image = _ground_image(plan, look, view, layout, grain)
    canvas = Canvas(view, date, look, image, cover, grain, canopies)
    _paint_items(plan.indexes[date].query(view.extent()), canvas)
    return image


def _paint_items(items: Sequence[Item], canvas: Canvas) -> None:
    """Courts, ponds and patches; building shadows (on images); tree clumps; roofs."""
    buildings = [item for item in items if isinstance(item, Building)]
    for item in items:
        if not isinstance(item, (Clump, Building)):
            item.paint(canvas)
    if canvas.image is not None:
        for building in buildings:
            building.paint_shadow(canvas)
    for item in items:
        if isinstance(item, Clump):
            item.paint(canvas)
    for building in buildings:
        building.paint(canvas)


@dataclass(frozen=True)
class _Layout:
    """Signed distances that decide the ground's classes over a view, the same on both dates: to low
    vegetation, to the nearest river (None if none is near) and to the nearest road."""

    vegetation: np.ndarray
    water: np.ndarray | None
    roads: np.ndarray

    @classmethod
    def of(cls, plan: Plan, view: View) -> _Layout:
        extent = view.extent()
        rivers = [river.distance(view.ys, view.xs) for river in plan.rivers if river.reaches(extent)]
        water = None if not rivers else rivers[0] if len(rivers) == 1 else np.minimum.reduce(rivers)
        if water is not None and water.min() >= 1.5:  # near, but not in, this view
            water = None
        return cls(-plan.ground.vegetation.grid(view.ys, view.xs), water, plan.roads.distance(view.ys, view.xs))

    def cover(self) -> np.ndarray:
        """Land cover under the parcels' contents."""
        cover = np.where(self.vegetation <= 0, np.uint8(LOW_VEGETATION), np.uint8(GROUND))
        if self.water is not None:
            cover[self.water <= 0] = WATER
        cover[self.roads <= 0] = GROUND  # roads bridge rivers
        return cover


def _ground_image(plan: Plan, look: Look, view: View, layout: _Layout, grain: np.ndarray) -> np.ndarray:
    """Pavement and bare soil mottled at two scales, grass where vegetated, then rivers and roads."""
    mottle = plan.ground.soil.grid(view.ys, view.xs)
    image = look.pavement + (look.soil - look.pavement) * (np.float32(0.5) + np.float32(0.5) * mottle)
    image *= 1 + np.float32(0.05) * mottle + np.float32(0.1) * grain
    grass = look.grass * (1 + np.float32(0.1) * mottle + np.float32(0.08) * grain)
    blend(image, grass, coverage(layout.vegetation, 1 / 30))
    if layout.water is not None:
        blend(image, look.water * (1 + np.float32(0.05) * mottle), coverage(layout.water, 1.5))
    if layout.roads.min() < 0.5:  # else no road reaches this tile
        blend(image, look.asphalt * (1 + np.float32(0.04) * grain), coverage(layout.roads))
    return image


def _second_cover(plan: Plan, view: View, cover1: np.ndarray, ground: np.ndarray) -> np.ndarray:
    """Second date's land cover: the first date's, repainted on the ground only where a parcel changed."""
    cover2 = cover1.copy()
    for extent in plan.changed.query(view.extent()):
        part = view.part(extent)
        if part is not None:
            cover2[part] = ground[part]
            window = view.sub(part)
            _paint_items(
                plan.indexes[1].query(window.extent()),
                Canvas(window, 1, plan.looks[1], None, cover2[part], None, None),
            )
    return cover2


def _mark_rebuilt(plan: Plan, view: View, changed: np.ndarray) -> None:
    """Buildings demolished and rebuilt are changes even where the class is the same on both dates."""
    for box in plan.rebuilt.query(view.extent()):
        part = view.part(box.extent(1))
        if part is not None:
            u, v = box.local(view.ys[part[0]], view.xs[part[1]])
            changed[part] |= box.distance(u, v) <= 0


def _finish(plan: Plan, date: int, view: View, image: np.ndarray) -> np.ndarray:
    """Light, haze, a brightness gradient across the scene and sensor noise: per date, never labelled."""
    look = plan.looks[date]
    slope_x, slope_y = look.gradient
    across = (np.float32(slope_x / plan.width) * (view.xs - np.float32(plan.width / 2)))[None, :]
    down = (np.float32(slope_y / plan.height) * (view.ys - np.float32(plan.height / 2)))[:, None]
    image *= (1 + across + down) * look.gain
    rng = random_stream(plan.seed, 1, date, view.row0 // TILE, view.col0 // TILE)
    image += sensor_noise(rng, (3, *view.shape), look.noise, look.offset)
    return image


def quantise(image: np.ndarray) -> np.ndarray:
    """A rendered 3×H×W image (consumed) as 3×H×W uint8 grey levels 1-255: 0 is kept free for nodata,
    so that valid pixels never read as nodata. Still band-first: the uint8 copy into H×W×3 arrays is
    where the layout changes, on a third of the bytes."""
    np.clip(image, 1, 255, out=image)
    image += np.float32(0.5)
    return image.astype(np.uint8)
